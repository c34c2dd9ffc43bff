"""Errors of the serving layer. Each message is one sentence that tells the user what to do; the CLI prints it as
`error: …` and exits 1."""


class ServingError(Exception):
    """A model server cannot be planned, built, started or reached: a missing binary or model part, a port in use,
    a launch plan that does not fit the GPUs."""
