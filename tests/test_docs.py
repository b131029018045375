"""The README documents every action, event, setting and config section, and its TOML
example loads (datasette's habit: an undocumented feature fails a test)."""
import re
from pathlib import Path

from engine import actions, config, rules

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_action_and_event_is_documented():
    missing = [name for name in list(actions.ACTIONS) + list(rules.EVENTS)
               if name not in ("stage_entered", "batch") and f"`{name}`" not in README]
    assert missing == []


def test_every_setting_the_code_reads_is_documented():
    code = "\n".join(p.read_text(encoding="utf-8")
                     for p in [ROOT / "app.py", *(ROOT / "engine").glob("*.py")])
    names = set(re.findall(r'(?:environ|env)(?:\.get)?\(?\[?"([A-Z][A-Z0-9_]+)"', code))
    assert names, "the pattern found no settings at all"
    assert sorted(n for n in names if n not in README) == []


def test_every_config_section_is_documented():
    assert [s for s in config.SECTIONS if s not in README] == []


def test_the_readme_toml_example_checks(world, tmp_path):
    example = re.search(r"```toml\n(.*?)```", README, re.S).group(1)
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    assert [str(p) for p in config.check([path])] == []
