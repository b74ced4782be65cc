"""The cloud bridge's configuration: one TOML file, validated once at start into frozen objects.

A broken file is refused with one line per problem naming the file, the field path and the rule
broken, for example ``bridge.toml: gateways[2].street_office: no [[street_offices]] entry with
id 'xuhui'``. Relative paths (SQLite database, gateway public keys) are resolved against the
file's own directory, and every gateway's public keys are read and checked while loading, so a
bridge that starts has everything it needs to verify alerts.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from cloud_bridge.errors import ConfigError
from cloud_bridge.ingest.ack_signing import AckSigner, load_ack_signer
from cloud_bridge.ingest.verification import GatewayRegistry, KnownGateway, VerificationLimits
from qunzu_common.config_errors import format_validation_error, read_toml
from qunzu_common.mqtt_tls import TlsFiles, tls_file_problems

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BridgeSection(_Frozen):
    instance: Identifier = "bridge-1"
    database_url: str = "sqlite:///tickets.sqlite"
    max_clock_skew_s: float = Field(default=300.0, ge=0)
    max_message_age_s: float = Field(default=30 * 86400.0, gt=0)
    ack_key_file: Path | None = Field(default=None, description="sign acks with this Ed25519 key")


class MqttSection(_Frozen):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    topic_prefix: str = Field(default="bldg/v1", pattern=r"^[A-Za-z0-9_/-]+[A-Za-z0-9_-]$")
    shared_group: str = Field(default="cloud-bridge", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: str = ""
    username: str | None = None
    password: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(
        default=86_400,
        ge=0,
        le=0xFFFF_FFFF,
        description="MQTT 5: how long the broker keeps this instance's session (its shared"
        " subscription and the alerts queued for it) after a connection ends",
    )
    max_message_bytes: int = Field(
        default=64 * 1024, ge=1024, le=128 * 1024, description="bigger alerts are refused unread"
    )
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)


class HttpSection(_Frozen):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)


class StreetOffice(_Frozen):
    id: Identifier
    name: str = Field(min_length=1)
    district: Identifier | None = Field(
        default=None, description="the district the office belongs to (district-scoped accounts)"
    )


class AuthSection(_Frozen):
    """Sessions, login lockout and the gateway registry's cache (docs/security.md)."""

    session_idle_timeout_s: float = Field(default=30 * 60.0, ge=60)
    session_absolute_timeout_s: float = Field(default=12 * 3600.0, ge=300)
    always_secure_cookies: bool = Field(
        default=False,
        description="mark cookies Secure even on plain http (set it behind a TLS proxy)",
    )
    max_login_failures: int = Field(default=5, ge=1, le=100)
    lockout_base_s: float = Field(default=60.0, gt=0)
    lockout_max_s: float = Field(default=3600.0, gt=0)
    gateway_registry_cache_s: float = Field(
        default=5.0, ge=0, le=300, description="how soon other instances see a revocation"
    )

    @model_validator(mode="after")
    def _ordered(self) -> AuthSection:
        if self.session_idle_timeout_s > self.session_absolute_timeout_s:
            raise ValueError(
                "auth.session_idle_timeout_s: must not exceed session_absolute_timeout_s"
            )
        return self


class GatewayEntry(_Frozen):
    id: Identifier
    public_key_files: tuple[Path, ...] = Field(min_length=1)
    street_office: Identifier
    address: str | None = None


class BridgeConfig(_Frozen):
    """The whole validated file. Build it with :func:`load_bridge_config`, which also loads the
    gateways' public keys into :attr:`registry`."""

    bridge: BridgeSection = BridgeSection()
    mqtt: MqttSection = MqttSection()
    http: HttpSection = HttpSection()
    auth: AuthSection = AuthSection()
    street_offices: tuple[StreetOffice, ...] = Field(min_length=1)
    gateways: tuple[GatewayEntry, ...] = ()

    _registry: GatewayRegistry = PrivateAttr(default_factory=dict)
    _ack_signer: AckSigner | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_references(self) -> BridgeConfig:
        offices: list[str] = []
        for i, office in enumerate(self.street_offices):
            if office.id in offices:
                raise ValueError(f"street_offices[{i}].id: {office.id!r} is used twice")
            offices.append(office.id)
        gateways: list[str] = []
        for i, gateway in enumerate(self.gateways):
            if gateway.id in gateways:
                raise ValueError(f"gateways[{i}].id: {gateway.id!r} is registered twice")
            gateways.append(gateway.id)
            if gateway.street_office not in offices:
                raise ValueError(
                    f"gateways[{i}].street_office: no [[street_offices]] entry with id"
                    f" {gateway.street_office!r}"
                )
        try:
            url = make_url(self.bridge.database_url)
        except ArgumentError as err:
            raise ValueError(f"bridge.database_url: not a database URL: {err}") from err
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(
                "bridge.database_url: must be a sqlite:/// or postgresql+psycopg:// URL"
            )
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            raise ValueError("bridge.database_url: an in-memory database would lose every ticket")
        return self

    @property
    def registry(self) -> GatewayRegistry:
        """Every registered gateway with its public keys, by gateway id."""
        return self._registry

    @property
    def ack_signer(self) -> AckSigner | None:
        """Signs every ack when ``bridge.ack_key_file`` is set; None: acks are plain JSON."""
        return self._ack_signer

    @property
    def limits(self) -> VerificationLimits:
        return VerificationLimits(
            self.bridge.max_clock_skew_s,
            self.bridge.max_message_age_s,
            self.mqtt.max_message_bytes,
        )

    @property
    def client_id(self) -> str:
        return self.mqtt.client_id or f"cloud-bridge-{self.bridge.instance}"

    @property
    def alert_subscription(self) -> str:
        """A shared subscription over MQTT 5 (instances split the load), else a plain one."""
        topic = f"{self.mqtt.topic_prefix}/+/alert"
        return f"$share/{self.mqtt.shared_group}/{topic}" if self.mqtt.protocol == "5" else topic

    def topic(self, gateway_id: str, leaf: str) -> str:
        return f"{self.mqtt.topic_prefix}/{gateway_id}/{leaf}"

    @property
    def district_of(self) -> MappingProxyType[str, str | None]:
        """Every street office's district (None: in no district), by office id."""
        return MappingProxyType({o.id: o.district for o in self.street_offices})

    def office_name(self, office_id: str) -> str:
        return next((o.name for o in self.street_offices if o.id == office_id), office_id)

    def safe_database_url(self) -> str:
        """The database URL with any password masked, for logs and messages."""
        return make_url(self.bridge.database_url).render_as_string(hide_password=True)


def load_bridge_config(path: Path) -> BridgeConfig:
    """Read, validate and resolve ``path`` and load the gateways' public keys; raise
    :class:`ConfigError` with a readable message naming the field at fault."""
    source = path.name
    raw = read_toml(path, ConfigError)
    try:
        config = BridgeConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from err

    base = path.resolve().parent
    gateways = tuple(
        gateway.model_copy(
            update={"public_key_files": tuple(base / p for p in gateway.public_key_files)}
        )
        for gateway in config.gateways
    )
    resolved = config.model_copy(
        update={
            "bridge": config.bridge.model_copy(
                update={
                    "database_url": _resolve_database_url(config.bridge.database_url, base),
                    "ack_key_file": None
                    if config.bridge.ack_key_file is None
                    else base / config.bridge.ack_key_file,
                }
            ),
            "gateways": gateways,
            "mqtt": config.mqtt.model_copy(
                update={
                    name: base / value
                    for name in ("tls_ca_file", "tls_cert_file", "tls_key_file")
                    if (value := getattr(config.mqtt, name)) is not None
                }
            ),
        }
    )
    problems = tls_file_problems(resolved.mqtt.tls)
    if problems:
        raise ConfigError("\n".join(f"{source}: {line}" for line in problems))
    if resolved.bridge.ack_key_file is not None:
        resolved._ack_signer = load_ack_signer(
            resolved.bridge.ack_key_file, f"{source}: bridge.ack_key_file"
        )
    resolved._registry = MappingProxyType(
        {
            gateway.id: KnownGateway(
                gateway.id, gateway.street_office, _load_keys(source, i, gateway)
            )
            for i, gateway in enumerate(gateways)
        }
    )
    return resolved


def _resolve_database_url(database_url: str, base: Path) -> str:
    url: URL = make_url(database_url)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # the driver this package installs
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute():
        url = url.set(database=str(base / url.database))
    return url.render_as_string(hide_password=False)


def _load_keys(source: str, index: int, gateway: GatewayEntry) -> MappingProxyType[str, OKPKey]:
    keys: dict[str, OKPKey] = {}
    for j, key_path in enumerate(gateway.public_key_files):
        where = f"{source}: gateways[{index}].public_key_files[{j}]: {key_path}"
        try:
            key = OKPKey.import_key(key_path.read_bytes())
        except FileNotFoundError as err:
            raise ConfigError(f"{where}: not found") from err
        except OSError as err:
            raise ConfigError(f"{where}: cannot be read: {err.strerror}") from err
        except (ValueError, JoseError) as err:
            raise ConfigError(f"{where}: not an Ed25519 public key (PEM)") from err
        if key.curve_name != "Ed25519":
            raise ConfigError(f"{where}: not an Ed25519 public key (curve {key.curve_name})")
        if key.is_private:
            raise ConfigError(
                f"{where}: is a private key; register the gateway's public key (.pub.pem) only"
            )
        keys[key.thumbprint()] = key
    return MappingProxyType(keys)
