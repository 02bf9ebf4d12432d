"""The campaign registry: which CLOSRTECH campaigns this deployment syncs to which Facebook campaigns.

One deployment can serve several campaigns (a lead business with several verticals, an agency with
a sync per client). Each is an entry of a YAML file reviewed in git (``include/campaigns.yaml``, or
the file named by ``CLOSRADS_CAMPAIGNS_FILE``), validated here with a message that names the entry
and the field. Each entry becomes its own pair of DAGs, and every name a campaign's runs use (DAG
ids, Variables, the Graph pool, the audit alias) is derived here, in one place, so two campaigns can
never share state by accident (docs/design.md, "Many campaigns").

Without a registry file the deployment has exactly one campaign, :data:`DEFAULT_CAMPAIGN`: the
single-campaign names CLOSRADS has always used (``closrads_sync``, ``closrads_dry_run``, the default
Connections), so an existing deployment behaves as before.

Pure: reads one local file, never a Variable, a Connection or the network (it runs at DAG-parse time).
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from closrads.core.errors import ClosradsError
from closrads.core.names import (  # the names every campaign derives its own from
    APPLIED_DEMAND_VARIABLE,
    APPROVAL_THRESHOLD_VARIABLE,
    APPROVAL_TIMEOUT_VARIABLE,
    AUDIT_ALIAS,
    DEFAULT_APPROVAL_THRESHOLD,
    DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    DEFAULT_SCHEDULE,
    DEMAND_HISTORY_VARIABLE,
    DRY_RUN_VARIABLE,
    GRAPH_POOL,
    LEARNING_PHASE_VARIABLE,
    ON_OUTSIDE_CHANGE_VARIABLE,
    ROLLBACK_DAG_ID,
    SEPARATOR,
    SLACK_CONN_ID,
    SPEND_LEAK_ALERT_VARIABLE,
    SYNC_DAG_ID,
)

REGISTRY_FILE_ENV = "CLOSRADS_CAMPAIGNS_FILE"
NO_REGISTRY = "none"  # CLOSRADS_CAMPAIGNS_FILE=none: the default campaign, whatever include/ holds
# Next to the closrads package: include/campaigns.yaml in the repository (and in the image).
DEFAULT_REGISTRY_FILE = Path(__file__).resolve().parents[2] / "campaigns.yaml"


# A slug ends up in DAG ids, Variable keys and pool names: lower case, digits, single underscores.
_SLUG = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
MAX_SLUG_LENGTH = 40
# Airflow's own rule for a Connection id (letters, digits, ., -, _), bounded.
_CONN_ID = r"^[A-Za-z0-9_.-]{1,200}$"
_AD_ACCOUNT = re.compile(r"^(?:act_)?(\d{1,30})$")
_TAG = r"^[A-Za-z0-9 _.:-]{1,80}$"
# Airflow's cron presets that make sense for a sync (not @once or @continuous).
_PRESETS = {"@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"}


class RegistryError(ClosradsError):
    """The campaign registry cannot be used as written; the message names the entry and the field."""


ConnId = Annotated[str, Field(pattern=_CONN_ID)]


class Campaign(BaseModel):
    """One campaign: where its demand comes from, which Facebook campaign it writes, how it runs."""

    # defer_build: the validator is built when a registry file is first read (see _DEFAULT_REGISTRY)
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    slug: str = Field(pattern=_SLUG, max_length=MAX_SLUG_LENGTH)
    closrtech_conn_id: ConnId
    facebook_conn_id: ConnId
    # The ad account the Facebook Connection's campaign lives in: Graph calls are bounded per ad account
    # (its pool), and the hook refuses a Connection that points at another account.
    ad_account_id: str | None  # required in a registry; the default campaign's is its Connection's
    slack_conn_id: ConnId | None = SLACK_CONN_ID  # null: no Slack for this campaign
    client: str | None = Field(default=None, pattern=_TAG)  # shown as a tag: every campaign of a client
    description: str = Field(default="", max_length=500)
    schedule: str | None = DEFAULT_SCHEDULE  # cron or preset; null: manual runs only
    enabled: bool = True  # false: no scheduled runs; history, manual runs and undo stay
    approval_threshold: int = Field(default=DEFAULT_APPROVAL_THRESHOLD, ge=0)
    approval_timeout_minutes: int = Field(default=DEFAULT_APPROVAL_TIMEOUT_MINUTES, ge=1, le=24 * 60)
    # Learning-phase protection (closrads.core.learning_phase), off unless set: the campaign's Variable
    # overrides it. Kept as the validated mapping; parsed where a run reads it.
    learning_phase: dict[str, bool | int | float] | None = None
    # What the sync does with an ad set changed outside CLOSRADS since its last write (closrads.core.drift):
    # overwrite (report it, apply the demand), hold (leave it alone this run) or approve (a person decides).
    # The campaign's Variable overrides it.
    on_outside_change: Literal["overwrite", "hold", "approve"] = "overwrite"
    # Slack says so plainly when more than this share (%) of yesterday's spend went to states with no
    # demand (closrads.core.spend); unset: no alert. The campaign's Variable overrides it.
    spend_leak_alert_percent: float | None = Field(default=None, ge=0, le=100)
    # The names of a single-campaign deployment (closrads_sync, closrads_dry_run, closrads_adset_<id>, ...):
    # for the campaign a deployment had before it grew a registry, so it keeps its history, its Variables
    # and its undo. At most one entry; the default campaign (no registry) has them too.
    legacy_names: bool = False

    @field_validator("ad_account_id", mode="before")
    @classmethod
    def _ad_account(cls, value: Any) -> str:
        match = _AD_ACCOUNT.match(str(value).strip()) if isinstance(value, str | int) else None
        if not match:
            raise ValueError("must be an ad account id, act_ followed by digits")
        return f"act_{match[1]}"

    @field_validator("learning_phase", mode="before")
    @classmethod
    def _learning_phase(cls, value: Any) -> dict | None:
        from closrads.core.learning_phase import LearningPhaseRules  # only when a registry file is read

        try:
            return None if value is None else LearningPhaseRules.parse(value, source="learning_phase").to_dict()
        except ClosradsError as exc:
            raise ValueError(str(exc).removeprefix("learning_phase: ")) from None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        """A cron expression of five fields (UTC) or one of Airflow's presets; checked here so a typo
        names its entry instead of surfacing as Airflow's error about a DAG."""
        from croniter import croniter

        if value is None or value in _PRESETS:
            return value
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"must be a cron expression of 5 fields or one of {', '.join(sorted(_PRESETS))}")
        return value

    @property
    def title(self) -> str:
        """How reports and DAG docs name the campaign: nothing for the default campaign (it is the only
        one), else its slug and client: " acme_roofing (acme-roofing)"."""
        if self.is_default:
            return ""
        return f" {self.slug}" + (f" ({self.client})" if self.client else "")

    @property
    def is_default(self) -> bool:
        """The campaign of a deployment without a registry (its ad account is its Connection's)."""
        return self.legacy_names and self.ad_account_id is None

    def _named(self, base: str) -> str:
        return base if self.legacy_names else f"{base}{SEPARATOR}{self.slug}"

    # -- the names this campaign's runs use, each derived here only ----------------------------

    @property
    def sync_dag_id(self) -> str:
        return self._named(SYNC_DAG_ID)

    @property
    def rollback_dag_id(self) -> str:
        return self._named(ROLLBACK_DAG_ID)

    @property
    def dry_run_variable(self) -> str:
        return self._named(DRY_RUN_VARIABLE)

    @property
    def approval_threshold_variable(self) -> str:
        return self._named(APPROVAL_THRESHOLD_VARIABLE)

    @property
    def approval_timeout_variable(self) -> str:
        return self._named(APPROVAL_TIMEOUT_VARIABLE)

    @property
    def applied_demand_variable(self) -> str:
        return self._named(APPLIED_DEMAND_VARIABLE)

    @property
    def audit_alias(self) -> str:
        return self._named(AUDIT_ALIAS)

    @property
    def learning_phase_variable(self) -> str:
        return self._named(LEARNING_PHASE_VARIABLE)

    @property
    def on_outside_change_variable(self) -> str:
        return self._named(ON_OUTSIDE_CHANGE_VARIABLE)

    @property
    def spend_leak_alert_variable(self) -> str:
        return self._named(SPEND_LEAK_ALERT_VARIABLE)

    @property
    def demand_history_variable(self) -> str:
        """The recent runs' demand, kept while learning-phase protection counts runs at zero."""
        return self._named(DEMAND_HISTORY_VARIABLE)

    @property
    def graph_pool(self) -> str:
        """One pool per ad account: Meta's rate limits are per ad account, so every campaign (and its
        rollback) in one account shares one bound, and campaigns in other accounts never wait for it."""
        return GRAPH_POOL if self.is_default else f"{GRAPH_POOL}{SEPARATOR}{self.ad_account_id}"

    def adset_asset(self, adset_id: str) -> tuple[str, str]:
        """The name and URI of the Airflow asset that stands for one ad set's targeting (its audit trail).
        A campaign's carry its ad account; the default campaign keeps the ones it has always used."""
        if self.legacy_names:
            return f"closrads_adset_{adset_id}", f"closrads://adsets/{adset_id}"
        return f"closrads_{self.ad_account_id}_adset_{adset_id}", f"closrads://{self.ad_account_id}/adsets/{adset_id}"

    @property
    def tags(self) -> list[str]:
        tags = ["closrads", "facebook-ads"]
        if not self.is_default:
            tags.append(f"campaign:{self.slug}")
        if self.client:
            tags.append(f"client:{self.client}")
        if not self.enabled:
            tags.append("disabled")
        return tags

    @property
    def scheduled(self) -> str | None:
        """The schedule Airflow runs: none while the campaign is disabled."""
        return self.schedule if self.enabled else None

    def owns_dag(self, dag_id: str) -> bool:
        return dag_id in (self.sync_dag_id, self.rollback_dag_id)


# The campaign of a deployment without a registry: today's names and the default Connections. Its ad
# account is read from the Facebook Connection at run time, so it has no account of its own here.
DEFAULT_CAMPAIGN = Campaign.model_construct(
    slug="default",
    closrtech_conn_id="closrtech_default",
    facebook_conn_id="facebook_ads_default",
    ad_account_id=None,
    slack_conn_id=SLACK_CONN_ID,
    client=None,
    description="",
    schedule=DEFAULT_SCHEDULE,
    enabled=True,
    approval_threshold=DEFAULT_APPROVAL_THRESHOLD,
    approval_timeout_minutes=DEFAULT_APPROVAL_TIMEOUT_MINUTES,
    learning_phase=None,
    legacy_names=True,
)


class Registry(BaseModel):
    """Every campaign of the deployment, in file order."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    campaigns: list[Campaign] = Field(min_length=1)
    source: str = Field(default="", exclude=True)  # where it was read from, for messages

    @cached_property
    def _by_dag_id(self) -> dict[str, Campaign]:
        return {dag_id: c for c in self.campaigns for dag_id in (c.sync_dag_id, c.rollback_dag_id)}

    def for_dag(self, dag_id: str) -> Campaign:
        """The campaign a DAG belongs to; a DAG of no campaign is a programming error, named."""
        try:
            return self._by_dag_id[dag_id]
        except KeyError:
            raise RegistryError(f"no campaign of {self.source or 'the registry'} has a DAG {dag_id!r}") from None


def registry_path() -> Path | None:
    """The registry file to read: ``CLOSRADS_CAMPAIGNS_FILE``, else ``include/campaigns.yaml``;
    ``None`` when the variable says ``none`` (tests and tools that want the default campaign)."""
    configured = os.environ.get(REGISTRY_FILE_ENV, "").strip()
    if configured.lower() == NO_REGISTRY:
        return None
    return Path(configured) if configured else DEFAULT_REGISTRY_FILE


def load_registry(path: Path | None = None) -> Registry:
    """The registry in ``path`` (default: :func:`registry_path`), or the default campaign alone when
    the file does not exist (or ``CLOSRADS_CAMPAIGNS_FILE=none``). Raises :class:`RegistryError`
    naming the entry and field of any problem.

    Cached per process on the file's path, size and modification time: a DAG file and the tasks of
    its runs read it many times, and an edited file is read again.
    """
    path = path or registry_path()
    if path is None:
        return _DEFAULT_REGISTRY
    try:
        stat = path.stat()
    except FileNotFoundError:
        if os.environ.get(REGISTRY_FILE_ENV, "").strip():
            raise RegistryError(f"{REGISTRY_FILE_ENV} names {path}, which does not exist") from None
        return _DEFAULT_REGISTRY
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _CACHE.get(key)
    if cached is None:
        try:
            cached = _read_registry(path, stat.st_size)
        except RegistryError as exc:
            cached = exc  # a bad file is read once, not again on every page request and parse
        _CACHE.clear()
        _CACHE[key] = cached
    if isinstance(cached, RegistryError):
        raise cached
    return cached


def _read_registry(path: Path, size: int) -> Registry:
    if size > MAX_REGISTRY_BYTES:
        raise RegistryError(f"{path} is larger than {MAX_REGISTRY_BYTES // 1_000_000} MB; a registry is a few KB")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RegistryError(f"{path} is not UTF-8 text") from None
    return parse_registry(text, source=str(path))


# Constructed, not validated (it is known good): with defer_build, a deployment without a registry file
# never builds the models' validators, which DAG files would otherwise pay for at every parse.
_DEFAULT_REGISTRY = Registry.model_construct(
    campaigns=[DEFAULT_CAMPAIGN], source="the default campaign (no registry file)"
)
_CACHE: dict[tuple, Registry | RegistryError] = {}


# A registry lists a few hundred campaigns at most; a file far larger is a mistake (or an attack).
MAX_REGISTRY_BYTES = 1_000_000


def parse_registry(text: str, source: str = "the campaign registry") -> Registry:
    """Validate a registry's YAML text: ``campaigns:``, a list of entries (see :class:`Campaign`).

    Read strictly: plain YAML only (no anchors, aliases or merge keys, which a registry never needs and
    which can make a small file cost seconds or gigabytes to load), no key twice in one mapping (the last
    would win silently, another client's Connection, say), bounded size and nesting.
    """
    import yaml

    if len(text) > MAX_REGISTRY_BYTES:
        raise RegistryError(f"{source} is larger than {MAX_REGISTRY_BYTES // 1_000_000} MB; a registry is a few KB")
    try:
        data = yaml.load(text, Loader=_strict_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None)
        detail = f": {problem}" if isinstance(problem, str) and problem.startswith(_OWN_PROBLEMS) else ""
        raise RegistryError(f"{source} is not valid YAML{line}{detail}") from None
    except RecursionError:
        raise RegistryError(f"{source} is nested too deep to be a campaign registry") from None
    if not isinstance(data, dict) or not isinstance(data.get("campaigns"), list):
        raise RegistryError(f"{source} must be a mapping with a list under 'campaigns:'")
    if unknown := sorted(str(key) for key in data if key != "campaigns"):
        raise RegistryError(f"{source}: unknown top-level field(s) {', '.join(unknown)}; only 'campaigns' is read")
    entries: list[dict] = data["campaigns"]
    if not entries:
        raise RegistryError(f"{source} lists no campaign; delete the file to run the default campaign alone")
    campaigns = [_campaign(entry, number, source) for number, entry in enumerate(entries, start=1)]
    _refuse_shared(campaigns, source)
    return Registry(campaigns=campaigns, source=source)


_OWN_PROBLEMS = ("a key appears twice", "anchors, aliases and merge keys")


def _strict_loader():
    """PyYAML's safe loader, refusing aliases (and so merge keys) and a key that appears twice."""
    import yaml
    from yaml.constructor import ConstructorError

    class StrictLoader(yaml.SafeLoader):
        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent) or (
                self.check_event(yaml.NodeEvent) and getattr(self.peek_event(), "anchor", None)
            ):
                event = self.peek_event()
                raise ConstructorError(
                    None, None, "anchors, aliases and merge keys are not used in a registry", event.start_mark
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConstructorError(None, None, f"a key appears twice ({str(key)[:40]!r})", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _campaign(entry: object, number: int, source: str) -> Campaign:
    name = f"entry {number}"
    if isinstance(entry, dict) and isinstance(entry.get("slug"), str):
        name += f" ({entry['slug'][:MAX_SLUG_LENGTH]!r})"
    if not isinstance(entry, dict):
        raise RegistryError(f"{source}, {name}: must be a mapping of fields")
    try:
        return Campaign.model_validate(entry)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            field = ".".join(str(part) for part in error["loc"]) or "(entry)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown field"
            if error["type"] == "missing":
                message = "missing (required)"
            problems.append(f"field '{field}': {message}")
        raise RegistryError(f"{source}, {name}: {'; '.join(problems)}") from None


def _refuse_shared(campaigns: list[Campaign], source: str) -> None:
    """Two entries must never share a slug or DAG ids (their DAGs, Variables and audit would be one),
    nor a Facebook Connection (two syncs would fight over one Facebook campaign's ad sets)."""
    seen: dict[object, int] = {}
    for number, campaign in enumerate(campaigns, start=1):
        for key, what in (
            (("slug", campaign.slug), f"slug {campaign.slug!r}"),
            (("facebook", campaign.facebook_conn_id), f"facebook_conn_id {campaign.facebook_conn_id!r}"),
            (("dag", campaign.sync_dag_id), f"the DAG id {campaign.sync_dag_id} (legacy_names: true)"),
        ):
            if key in seen:
                raise RegistryError(
                    f"{source}, entries {seen[key]} and {number} ({campaign.slug!r}) both use {what}; "
                    "each campaign needs its own"
                )
            seen[key] = number
