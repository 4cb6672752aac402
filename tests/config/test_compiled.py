"""The compiled config: what a process without pydantic reads is what pydantic validated, never a stale or altered
form, and a bad config reads as the same problems.

The compiled side runs as real processes (a process is in one mode for its life); this test process validates
with pydantic, as ``edge-agent config check`` does without a fresh compiled form.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge_agent import resources
from edge_agent.config import compiled
from edge_agent.config.load import compile_config, load_config
from edge_agent.config.yaml_text import read_yaml
from edge_agent.errors import ConfigError
from tests.cli.helpers import lorawan_device

REPO = Path(__file__).resolve().parents[2]

# Loads a config in compiled mode; prints its values and documents re-encoded, or its problems, and whether this
# process parsed the config's TOML.
_PROBE = """
import json, sys, tomllib
from pathlib import Path
from edge_agent.config import mode
mode.use_compiled()
text, parse, parsed = Path(sys.argv[1]).read_text(), tomllib.loads, []
tomllib.loads = lambda source, **kw: (parsed.append(source == text), parse(source, **kw))[1]
from edge_agent.config import compiled
from edge_agent.config.load import compile_config, load_config
from edge_agent.errors import ConfigError
try:
    loaded = load_config(sys.argv[1])
except ConfigError as exc:
    print(json.dumps({"problems": exc.problems}))
    sys.exit(0)
documents = {key: compiled.encode(compiled.decode(value)) for key, value in compiled.known_documents().items()}
print(json.dumps({"config": compiled.encode(loaded.config), "documents": documents, "sha256": loaded.sha256,
                  "pydantic": "pydantic" in sys.modules, "type": type(loaded.config.devices[0]).__name__,
                  "toml": any(parsed)}))
"""


def probe(config: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(config)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert isinstance(answer, dict)
    return answer


def with_store(text: str, store: Path) -> str:
    """A config's text with its store (and so its compiled form) in ``store``."""
    line = f'path = "{store}"\n'
    if re.search(r"^\[store\]\n", text, flags=re.M):
        return re.sub(r"^\[store\]\n(path = .*\n)?", lambda _m: "[store]\n" + line, text, count=1, flags=re.M)
    return text + "\n[store]\n" + line


SITE = """
gateway_id = "gw-compiled"

[site]
commune = "Esternay"
latitude = 48.7328
longitude = 3.5603

[modbus]
buses = [{ name = "rs485", port = "/dev/ttyUSB0" }]

[[devices]]
driver = "modbus"
name = "cabinet"
profile = "streetlight_cabinet_4c"
host = "127.0.0.1"
unit = 3

[[devices]]
driver = "modbus"
name = "meter"
profile = "eastron_sdm120"
bus = "rs485"
position = { latitude = 48.7, longitude = 3.5 }

[[devices]]
driver = "lorawan"
name = "contact"
dev_eui = "70B3D5A000000001"
codec = "chirpstack"
object_fields = [{ path = "alarms", flags = { 0 = "door_open", 3 = "tilt" } },
                 { path = "level", point = "level", unit = "%", scale = 0.5 }]
""" + lorawan_device() + """
[lighting]
programs = [{ name = "night", periods = [{ start = "sunset", end = "23:00" },
                                         { start = "23:00", end = "sunrise-10", level = 40 }] }]

[[lighting.calendars]]
name = "year"
rules = [{ program = "night" }]
exceptions = [{ program = "night", dates = ["07-14", "12-15/01-06"] }]

[[lighting.groups]]
name = "centre"
category = "heritage"
calendar = "year"
members = [{ device = "cabinet", point = "circuit1_level" }]
opens = "07:30"

[[alarms]]
kind = "threshold"
name = "hot"
point = "temperature"
raise_above = 40
clear_at = 35

[reports]
daily_at = "13:15"
"""


def site(tmp_path: Path, text: str = SITE) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(with_store(text, tmp_path / "store.db"))
    return path


def validated(documents: dict[str, Any]) -> dict[str, Any]:
    """The validated documents, without the YAML and TOML texts parsed (``yaml:<sha256>``, ``toml:<sha256>``), which
    a process records only if its own caches had not read them already: the checker, a fresh process, records all
    it reads."""
    return {key: value for key, value in documents.items() if not key.startswith(("yaml:", "toml:"))}


def pydantic_form(config: Path) -> dict[str, Any]:
    _loaded, body = compile_config(config.read_bytes(), config)
    return body


def compiled_site_with_a_table_codec(tmp_path: Path) -> Path:
    """``SITE`` with a level sensor (a table codec), its compiled form written."""
    level = ('[[devices]]\ndriver = "lorawan"\nname = "bin"\ndev_eui = "24E124713B000001"\n'
             'codec = "milesight_em310_udl"\n')
    config = site(tmp_path, SITE.replace("[lighting]", level + "\n[lighting]", 1))
    probe(config)  # writes the compiled form
    return config


def run_compiled(script: str, config: Path) -> Any:
    """What ``script`` (a compiled process, given the config's path) prints, as JSON."""
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", [*sorted(p.stem for p in resources.configs_dir().glob("*.toml")), "test-site"])
def test_a_compiled_process_reads_what_pydantic_validated(tmp_path: Path, name: str) -> None:
    text = SITE if name == "test-site" else resources.bundled_config(name).read_text()
    config = site(tmp_path, text)
    expected = pydantic_form(config)
    first = probe(config)  # no compiled form yet: another process checks and writes it
    cache = tmp_path / ("store.db" + compiled.SUFFIX)
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o666 & ~umask, "readable as the store is (technicians' group)"
    second = probe(config)  # the compiled form read back
    for answer in (first, second):
        assert answer["pydantic"] is False
        assert answer["config"] == expected["config"]
        assert validated(answer["documents"]) == validated(expected["documents"])
        assert answer["sha256"] == load_config(config).sha256
    assert expected["documents"], "the drivers the devices use and the FIWARE mapping are compiled too"


def test_a_changed_config_is_read_anew(tmp_path: Path) -> None:
    config = site(tmp_path)
    before = probe(config)
    config.write_text(config.read_text().replace('daily_at = "13:15"', 'daily_at = "14:45"'))
    after = probe(config)
    assert before["config"] != after["config"]
    assert after["config"] == pydantic_form(config)["config"]


def test_an_altered_or_unreadable_compiled_form_is_not_used(tmp_path: Path) -> None:
    config = site(tmp_path)
    probe(config)
    cache = tmp_path / ("store.db" + compiled.SUFFIX)
    header_line, config_line, documents_line = cache.read_bytes().split(b"\n")
    forged = config_line.replace(b'"gw-compiled"', b'"gw-forged"')
    assert forged != config_line
    # A value changed by hand: the SHA-256 in the header no longer matches, the config is checked again.
    cache.write_bytes(b"\n".join([header_line, forged, documents_line]))
    assert "gw-forged" not in json.dumps(probe(config)["config"])
    # The SHA-256 recomputed, under the key of other files (a form compiled from them): stale, checked again.
    header = json.loads(header_line)
    payload = forged + b"\n" + documents_line
    header.update(key="0" * 64, sha256=hashlib.sha256(payload).hexdigest())
    cache.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    assert "gw-forged" not in json.dumps(probe(config)["config"])
    # A tag that names no config class, under a right key and SHA-256: not decoded, checked again.
    odd = config_line.replace(b"edge_agent.config.site:SiteConfig", b"os:system", 1)
    assert odd != config_line
    payload = odd + b"\n" + documents_line
    header = json.loads(header_line)
    header.update(sha256=hashlib.sha256(payload).hexdigest())
    cache.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    assert probe(config)["config"] == pydantic_form(config)["config"]
    cache.write_text("{not json")
    assert probe(config)["config"] == pydantic_form(config)["config"]
    # Driver directories other than the config's in the header: the key was not made over them, so the form is
    # not taken; the pydantic process compiles it again, with the config's own directories.
    header_line, config_line, documents_line = cache.read_bytes().split(b"\n")
    header = json.loads(header_line)
    header.update(dirs=[str(tmp_path / "elsewhere")])
    cache.write_bytes(b"\n".join([json.dumps(header).encode(), config_line, documents_line]))
    assert probe(config)["config"] == pydantic_form(config)["config"]
    assert json.loads(cache.read_bytes().split(b"\n")[0])["dirs"] != [str(tmp_path / "elsewhere")]


def test_a_fresh_compiled_form_is_found_without_parsing_the_toml(tmp_path: Path) -> None:
    config = site(tmp_path)
    first = probe(config)
    assert first["toml"] is False, "no compiled form yet: the pydantic process parses, checks and compiles it"
    assert first["config"] == pydantic_form(config)["config"] and first["pydantic"] is False
    assert (tmp_path / ("store.db" + compiled.SUFFIX)).is_file()
    again = probe(config)
    assert again["toml"] is False and again["config"] == pydantic_form(config)["config"]


def test_a_text_compiled_elsewhere_has_the_problems_a_check_in_process_gives(tmp_path: Path) -> None:
    """Without a compiled form, the text goes unparsed to the pydantic process (test above): its problems, a TOML
    syntax error among them, come back as a check in process gives them, and nothing is compiled."""
    config = site(tmp_path)
    config.write_text(config.read_text() + '[[devices]]\ndriver = "modbus"\nname = "spare"\n')
    with pytest.raises(ConfigError) as expected:
        load_config(config)
    assert probe(config) == {"problems": expected.value.problems}
    config.write_text(config.read_text() + "[[devices]\n")
    with pytest.raises(ConfigError) as expected:
        load_config(config)
    answer = probe(config)
    assert answer == {"problems": expected.value.problems} and "(toml)" in answer["problems"][0]
    assert not (tmp_path / ("store.db" + compiled.SUFFIX)).exists(), "a config with problems is not compiled"


@pytest.mark.parametrize("store", ['store = {{ path = "{path}" }}', 'store.path = "{path}"'])
def test_a_store_named_otherwise_still_finds_its_compiled_form_by_parsing(tmp_path: Path, store: str) -> None:
    config = tmp_path / "site.toml"
    config.write_text(store.format(path=tmp_path / "store.db") + "\n" + SITE)
    probe(config)
    again = probe(config)
    assert again["toml"] and again["config"] == pydantic_form(config)["config"]
    assert (tmp_path / ("store.db" + compiled.SUFFIX)).exists()


def test_the_store_is_looked_for_where_a_store_table_names_it() -> None:
    hint = compiled.store_hint
    named = b'[site]\npath = "/no"\n[store]\nmax_bytes = 5\npath = "/var/a.db"  # here\n[web]\n'
    assert hint(named) == Path("/var/a.db")
    assert hint(b"[ store ]\n  path = '/var/b.db'\n") == Path("/var/b.db")
    assert hint(b'[store]\nmax_bytes = 5\n[store.retention]\npath = "/no"\n') == compiled.DEFAULT_STORE
    assert hint(b'[store]\npath = "/var/\\u00e9.db"\n') == compiled.DEFAULT_STORE, "escapes: parsed instead"
    assert hint(b'gateway_id = "x"\n') == compiled.DEFAULT_STORE
    assert hint(b'[store]\npath = "\xff.db"\n') == compiled.DEFAULT_STORE
    sure = compiled.store_hint_is_sure
    assert sure(named) and sure(b'gateway_id = "x"\n[upstream]\nhost = "store.example"\n# the store: default\n')
    for unsure in (b'store = { path = "/var/a.db" }\n', b'store.path = "/var/a.db"\n', b'["store"]\npath = "/a"\n',
                   b'[store]\nmax_bytes = 5\n', b'[store]\npath = "/var/\\u00e9.db"\n', b"[ store.retention ]\n"):
        assert not sure(unsure), unsure


def test_a_changed_site_driver_makes_the_compiled_form_stale(tmp_path: Path) -> None:
    drivers = tmp_path / "drivers"
    (drivers / "modbus").mkdir(parents=True)
    bundled = resources.drivers_dir() / "modbus"
    profile = drivers / "modbus" / "site_meter.toml"
    profile.write_text((bundled / "eastron_sdm120.toml").read_text())
    (drivers / "modbus" / "site_meter.vectors.yaml").write_text((bundled / "eastron_sdm120.vectors.yaml").read_text())
    text = SITE.replace('profile = "eastron_sdm120"', 'profile = "site_meter"')
    config = site(tmp_path, f'gateway_id = "gw-compiled"\n[drivers]\npaths = ["{drivers}"]\n'
                  + text.replace('gateway_id = "gw-compiled"\n', "", 1))
    before = probe(config)["documents"]
    assert validated(before) == validated(pydantic_form(config)["documents"])
    assert any("Single-phase" in json.dumps(document) for document in before.values()), "the site profile is in"
    profile.write_text(profile.read_text().replace("Single-phase", "One-phase", 1))
    after = probe(config)["documents"]
    assert validated(after) == validated(pydantic_form(config)["documents"])
    assert any("One-phase" in json.dumps(document) for document in after.values())


@pytest.mark.parametrize("change", [
    ('unit = 3', 'unit = 300'),
    ('codec = "chirpstack"', 'codec = "chirpstak"'),
    ('daily_at = "13:15"', 'daily_at = "09:00"'),
    ('[reports]', '[report]'),
    ('commune = "Esternay"', 'commune = "Esternay"\ncommune = "twice"'),
])
def test_a_bad_config_reads_as_the_same_problems(tmp_path: Path, change: tuple[str, str]) -> None:
    config = site(tmp_path)
    probe(config)  # a valid compiled form of the previous text is there: it must not be taken
    config.write_text(config.read_text().replace(*change, 1))
    with pytest.raises(ConfigError) as expected:
        load_config(config)
    assert probe(config) == {"problems": expected.value.problems}
    assert not any(line.startswith("(config)") for line in expected.value.problems)


def test_a_driver_file_outside_the_compiled_form_is_checked_by_pydantic(tmp_path: Path) -> None:
    """A profile the site does not use: validated by another process, with the problems a check gives."""
    good = resources.drivers_dir() / "modbus" / "eastron_sdm120.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text().replace("[device]", "[device]\nmodle = 1", 1))
    script = """
import json, sys
from pathlib import Path
from edge_agent.config import mode
mode.use_compiled()
from edge_agent.config import compiled
from edge_agent.errors import ConfigError
from edge_agent.modbus.profile import read_profile
profile = read_profile(Path(sys.argv[1]))
try:
    read_profile(Path(sys.argv[2]))
except ConfigError as exc:
    print(json.dumps({"points": [p.name for p in profile.points], "problems": exc.problems,
                      "pydantic": "pydantic" in sys.modules}))
"""
    done = subprocess.run([sys.executable, "-c", script, str(good), str(bad)], capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=True)
    answer = json.loads(done.stdout)
    from edge_agent.modbus.profile import read_profile

    with pytest.raises(ConfigError) as expected:
        read_profile(bad)
    assert answer == {"points": [p.name for p in read_profile(good).points], "problems": expected.value.problems,
                      "pydantic": False}
    assert "did you mean 'model'" in " ".join(answer["problems"])


def test_a_value_no_config_holds_is_one_problem_line_without_pydantic(tmp_path: Path) -> None:
    """YAML can hold bytes (!!binary): nothing to key a compiled document by, nor to send the checker."""
    codec = tmp_path / "odd.codec.yaml"
    codec.write_text("table_codec: 1\nmodel: !!binary aGVsbG8=\nuplink_fports: [1]\nframes: []\n")
    script = """
import sys
from pathlib import Path
from edge_agent.config import mode
mode.use_compiled()
from edge_agent.errors import ConfigError
from edge_agent.lorawan.table_spec import read_table_codec
try:
    read_table_codec(Path(sys.argv[1]))
except ConfigError as exc:
    print(chr(10).join(exc.problems))
"""
    done = subprocess.run([sys.executable, "-c", script, str(codec)], capture_output=True, text=True, cwd=REPO,
                          timeout=120, check=True)
    assert done.stdout.splitlines() == [f"{codec}: (top level): holds a value no config holds (bytes cannot be"
                                        " compiled)"]


def test_the_yaml_the_check_parsed_is_not_parsed_again_in_a_compiled_process(tmp_path: Path) -> None:
    """The FIWARE mapping, the codec registry and table codecs come from the compiled form: no YAML parser, and
    the same data as parsing the text gives."""
    config = compiled_site_with_a_table_codec(tmp_path)
    script = """
import json, sys, tomllib
from pathlib import Path
from edge_agent.config import mode
mode.use_compiled()
text, parse, parsed = Path(sys.argv[1]).read_text(), tomllib.loads, []
tomllib.loads = lambda source, **kw: (parsed.append(source == text), parse(source, **kw))[1]
from edge_agent.config.load import load_config
from edge_agent.config.yaml_text import read_yaml
from edge_agent.contract.fiware import default_mapping, mapping_path
from edge_agent.lorawan.codecs import default_registry
load_config(sys.argv[1])
mapping, registry = default_mapping(), default_registry()
table = read_yaml((registry.folder / "milesight_em310_udl.codec.yaml").read_text(), fast=False)
print(json.dumps({"yaml": "yaml" in sys.modules, "types": sorted(mapping.types), "codecs": registry.names(),
                  "table": table}))
"""
    answer = run_compiled(script, config)
    assert answer["yaml"] is False
    from edge_agent.contract.fiware import default_mapping
    from edge_agent.lorawan.codecs import default_registry

    assert answer["types"] == sorted(default_mapping().types)
    assert answer["codecs"] == default_registry().names()
    table = (default_registry().folder / "milesight_em310_udl.codec.yaml").read_text()
    assert answer["table"] == json.loads(json.dumps(read_yaml(table, fast=False)))


def test_a_compiled_process_holds_its_documents_as_text_a_fraction_of_their_trees(tmp_path: Path) -> None:
    """The documents (Modbus profiles, a codec's table, the FIWARE mapping, the YAML parsed) stay in the process for
    its life, for whatever reads them later: held as JSON text, not as the trees they decode to."""
    config = compiled_site_with_a_table_codec(tmp_path)
    script = """
import json, sys
from edge_agent.config import mode
mode.use_compiled()
from edge_agent.config import compiled
from edge_agent.config.load import load_config
from edge_agent.contract.fiware import default_mapping
load_config(sys.argv[1])
default_mapping()

def deep(node, seen):
    if id(node) in seen:
        return 0
    seen.add(id(node))
    size = sys.getsizeof(node)
    children = [*node.keys(), *node.values()] if isinstance(node, dict) else node if isinstance(node, list) else []
    return size + sum(deep(child, seen) for child in children)

trees = compiled.known_documents()
print(json.dumps({"held": sum(deep(held, set()) for held in compiled._known.values()),
                  "trees": deep(trees, set()), "keys": sorted(trees)}))
"""
    answer = run_compiled(script, config)
    assert any(key.startswith("edge_agent.contract.fiware:") for key in answer["keys"])
    assert any(key.startswith("edge_agent.modbus.profile:") for key in answer["keys"])
    assert answer["trees"] > 100_000
    assert answer["held"] * 3 < answer["trees"], answer
