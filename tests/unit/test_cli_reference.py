"""The README's command list is read off the commands, so it names every command and option."""

from helsedata.cli import reference


def test_readme_command_list_is_generated_from_the_commands():
    text = reference.README.read_text(encoding="utf-8")
    assert reference.render(text) == text, "run: .venv/bin/python -m helsedata.cli.reference"


def test_command_list_names_every_option_of_every_command():
    listed = reference.command_list()
    for path, command in reference.walk(reference.cli):
        line = next(line for line in listed.splitlines() if line.startswith(f"helsedata {path} ") or line == f"helsedata {path}")
        for param in command.params:
            if getattr(param, "hidden", False) or "--help" in getattr(param, "opts", ()):
                continue
            name = max(param.opts, key=len) if param.param_type_name == "option" else param.human_readable_name.upper()
            assert name in line, f"{path}: {name} missing from the README's command list"
