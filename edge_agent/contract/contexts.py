"""The JSON-LD @context of the NGSI-LD output: the project's own context, the model's, the core context last.

The project's context (``docs/contexts/edge-agent.jsonld``) and copies of the Smart Data Models contexts the
output uses (``docs/contexts/sdm/``) ship in the wheel, so a context broker without the internet can be given
them from the hypervisor's own server: ``upstream.ngsi_ld.contexts_url`` names where that folder is served.
An entity's @context lists the project's context first, then its model's subject context, so that the model's
terms win wherever both define one, and the NGSI-LD core context last, as the Smart Data Models guidance says.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.resources import contexts_dir

if TYPE_CHECKING:
    from edge_agent.config.load import LoadedConfig

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
PROJECT_CONTEXT_FILE = "edge-agent.jsonld"
# Where the project's context is when the config does not say where it is served: the project's namespace,
# which a broker cannot fetch; `edge-agent config check` says so.
PROJECT_CONTEXT_DEFAULT = "https://edge-agent.example/contexts/edge-agent.jsonld"
PROJECT_NAMESPACE = "https://edge-agent.example/ngsi-ld/"
# The NGSI-LD core terms an attribute can never be named after.
CORE_TERMS = frozenset({"id", "type", "value", "object", "location", "observationSpace", "operationSpace",
                        "observedAt", "createdAt", "modifiedAt", "deletedAt", "unitCode", "datasetId", "instanceId",
                        "@context", "scope", "lang", "languageMap", "vocab", "json", "objectList"})


def sdm_context_file(subject: str) -> str:
    return f"dataModel.{subject}.jsonld"


def published_sdm_context(subject: str) -> str:
    """The Smart Data Models subject context where its examples name it."""
    return f"https://raw.githubusercontent.com/smart-data-models/dataModel.{subject}/master/context.jsonld"


class Contexts:
    """The @context array of each subject's entities, as configured."""

    def __init__(self, contexts_url: str | None = None, core: str = CORE_CONTEXT) -> None:
        self._base = contexts_url.rstrip("/") if contexts_url else None
        self._core = core
        self._cache: dict[str, list[str]] = {}

    @property
    def core(self) -> str:
        return self._core

    @property
    def project(self) -> str:
        return f"{self._base}/{PROJECT_CONTEXT_FILE}" if self._base else PROJECT_CONTEXT_DEFAULT

    def subject(self, subject: str) -> str:
        return f"{self._base}/sdm/{sdm_context_file(subject)}" if self._base else published_sdm_context(subject)

    def for_subject(self, subject: str) -> list[str]:
        found = self._cache.get(subject)
        if found is None:
            found = self._cache[subject] = [self.project, self.subject(subject), self._core]
        return found


def _terms(path: Path) -> frozenset[str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    context = document.get("@context", {})
    return frozenset(key for key in context if not key.startswith("@"))


@functools.cache
def subject_terms(subject: str) -> frozenset[str]:
    """The terms a Smart Data Models subject's context defines (from the shipped copy); empty if not shipped."""
    path = contexts_dir() / "sdm" / sdm_context_file(subject)
    return _terms(path) if path.exists() else frozenset()


@functools.cache
def project_terms() -> frozenset[str]:
    """The terms the project's own context defines."""
    return _terms(contexts_dir() / PROJECT_CONTEXT_FILE)


def check(loaded: LoadedConfig) -> list[str]:
    """The ``config check`` hook (registered in ``edge_agent.config.warnings.CHECKS``)."""
    upstream = loaded.config.upstream
    if upstream.output != "ngsi-ld" or upstream.ngsi_ld.contexts_url:
        return []
    return [f"upstream.ngsi_ld.contexts_url is not set: the entities name the project's context at"
            f" {PROJECT_CONTEXT_DEFAULT}, which no context broker can fetch; serve docs/contexts/ (in the wheel:"
            f" edge_agent/_bundled/docs/contexts/) where the broker reaches it and set contexts_url to that folder's"
            f" URL (docs/contract.md)"]
