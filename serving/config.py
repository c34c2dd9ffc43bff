"""The embedded profile's settings: which bundled models the llama.cpp servers run and how they are sized.

Part of the one Settings model (`[embedded]` in taskmaster.toml, `TASKMASTER_EMBEDDED__*`), defined here so the
serving layer depends on nothing above it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

EmbeddedModel = Literal["smollm2", "gemma3", "qwen2.5-coder-1.5b"]


class EmbeddedSettings(BaseModel):
    """The embedded profile's model ladder: each model runs in its own llama-server, started by the app."""

    model: EmbeddedModel = Field(
        default="smollm2",
        description="The fast tier's model (classification, quick edits); set alone, the model of every tier.",
    )
    strong_model: EmbeddedModel = Field(default="qwen2.5-coder-1.5b", description="The planner and coder tiers'.")
    n_ctx: int = Field(default=8192, ge=512, description="Context per request (each parallel slot gets all of it).")
    threads: int | None = Field(
        default=None, ge=1, description="Threads per server; default: the cores but one, shared among the models."
    )
    parallel: int | None = Field(
        default=None, ge=1, le=64, description="Request slots per server; default 4 (concurrent requests batch)."
    )
    max_output_tokens: int | None = Field(default=None, ge=32, description="Reply cap; default: the model's own.")
    startup_timeout_s: float = Field(default=180.0, gt=0)
    runtime_dir: Path | None = Field(default=None, description="Where shared-server state lives; default ~/.cache.")
    model_dir: Path | None = Field(default=None, description="Verified/joined model files; default ~/.cache.")
    server_binary: Path | None = Field(default=None, description="llama-server to run; default: the one make built.")

    def tier_models(self) -> dict[str, str]:
        """Which model each tier runs. `TASKMASTER_EMBEDDED__MODEL=gemma3` alone picks one model for everything."""
        one_model = "model" in self.model_fields_set and "strong_model" not in self.model_fields_set
        strong = self.model if one_model else self.strong_model
        return {"planner": strong, "fast": self.model, "coder": strong}
