# ruff: noqa: E501  (a table of one-line commands reads best unwrapped)
"""Interpreter one-liners that print secrets, and constants changed after they are set.

``echo $GITHUB_TOKEN`` and ``env`` are refused because they show tokens to the agent;
these rows pin the same judgement for Python, Node, Ruby, Perl, PHP and Lua code
(``canopy/decisions/analyzers/interpreter_secrets.py``): shown to the agent is DENY,
written to a file needs approval, handed to a program that uses it (or to /dev/null)
is ALLOW, and so are names, tests, lengths and hashes of secrets. Every dangerous row
was ALLOWed before the rule existed. The last block pins a bypass of the constant
folding that judged ``c = "echo hi"; c += "; rm -rf /"; system(c)`` as ``echo hi``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canopy import authorize_action
from canopy.decisions.analyzers.interpreter_effects import EffectKind
from canopy.decisions.analyzers.shell_interpreters import python_effects, script_effects

DENY, APPROVE, ALLOW = "DENY", "REQUIRE_APPROVAL", "ALLOW"
CTX = {"home": "/home/agent", "cwd": "/home/agent/project"}


def cases(expected: str, commands: dict[str, str]) -> list[Any]:
    return [pytest.param(command, expected, id=ident) for ident, command in commands.items()]


SHOWN = cases(
    DENY,
    {
        "py-environ-sub": "python3 -c 'import os; print(os.environ[\"GITHUB_TOKEN\"])'",
        "py-from-import": "python3 -c 'from os import environ as e; print(e[\"NPM_TOKEN\"])'",
        "py-getenv-alias": "python3 -c 'from os import getenv; print(getenv(\"OPENAI_API_KEY\"))'",
        "py-var": "python3 -c 'import os; t = os.environ[\"GITHUB_TOKEN\"]; print(t)'",
        "py-fstring": 'python3 -c "import os; print(f\'token={os.environ[\\"GITHUB_TOKEN\\"]}\')"',
        "py-concat-var": 'python3 -c \'import os; t = "x" + os.getenv("DB_PASSWORD"); print(t.upper())\'',
        "py-stdout-write": "python3 -c 'import os,sys; sys.stdout.write(os.environ[\"AWS_SECRET_ACCESS_KEY\"])'",
        "py-stderr": "python3 -c 'import os,sys; print(os.environ[\"AWS_SECRET_ACCESS_KEY\"], file=sys.stderr)'",
        "py-exit": "python3 -c 'import os,sys; sys.exit(os.environ[\"GITHUB_TOKEN\"])'",
        "py-raise": "python3 -c 'import os; raise SystemExit(os.environ[\"GITHUB_TOKEN\"])'",
        "py-raise-exc": "python3 -c 'import os; raise ValueError(os.environ[\"GITHUB_TOKEN\"])'",
        "py-items-loop": "python3 -c 'import os\nfor k, v in os.environ.items():\n    print(k, v)'",
        "py-keys-loop-lookup": "python3 -c 'import os\nfor k in os.environ:\n    print(k, os.environ[k])'",
        "py-dict-comp": "python3 -c 'import os; print({k: v for k, v in os.environ.items() if \"KEY\" in k})'",
        "py-copy": "python3 -c 'import os; print(os.environ.copy())'",
        "py-pprint": "python3 -c 'import os, pprint; pprint.pprint(dict(os.environ))'",
        "py-b64": "python3 -c 'import os,base64; print(base64.b64encode(os.environ[\"GITHUB_TOKEN\"].encode()))'",
        "py-dunder-import": 'python3 -c \'print(__import__("os").environ["GITHUB_TOKEN"])\'',
        "py-func": "python3 -c 'import os\ndef tok():\n    return os.environ[\"GITHUB_TOKEN\"]\nprint(tok())'",
        "py-lambda": "python3 -c 'import os; f = lambda: os.getenv(\"GITHUB_TOKEN\"); print(f())'",
        "py-logging": "python3 -c 'import os, logging; logging.warning(os.environ[\"GITHUB_TOKEN\"])'",
        "py-dynamic-name": "python3 -c 'import os,sys; print(os.environ[sys.argv[1]])' GITHUB_TOKEN",
        "py-walrus": "python3 -c 'import os; print(t := os.environ[\"GITHUB_TOKEN\"])'",
        "py-list-join": 'python3 -c \'import os; print("\\n".join(f"{k}={v}" for k, v in os.environ.items()))\'',
        "py-environb": "python3 -c 'import os; print(os.environb)'",
        "py-os-write": "python3 -c 'import os; os.write(1, os.environ[\"GITHUB_TOKEN\"].encode())'",
        "py-stdin-script": "python3 - <<'EOF'\nimport os\nprint(os.environ['GITHUB_TOKEN'])\nEOF",
        "py-json-dump-stdout": "python3 -c 'import os, json, sys; json.dump(dict(os.environ), sys.stdout)'",
        "py-piped-to-grep": "python3 -c 'import os; print(os.environ)' | grep AWS",
        "py-write-bashrc": 'python3 -c \'import os; open("/home/agent/.bashrc","a").write(os.environ["GITHUB_TOKEN"])\'',
        "node-env-whole": "node -e 'console.log(process.env)'",
        "node-env-dot": "node -e 'console.log(process.env.GITHUB_TOKEN)'",
        "node-env-bracket": "node -e 'console.log(process.env[\"NPM_TOKEN\"])'",
        "node-template": "node -e 'console.log(`t=${process.env.GITHUB_TOKEN}`)'",
        "node-var": "node -e 'const t = process.env.GITHUB_TOKEN; console.log(t)'",
        "node-json": "node -e 'console.log(JSON.stringify(process.env))'",
        "node-stdout": "node -e 'process.stdout.write(process.env.OPENAI_API_KEY)'",
        "node-entries": "node -e 'for (const [k,v] of Object.entries(process.env)) console.log(k, v)'",
        "ruby-env": "ruby -e 'puts ENV[\"AWS_SECRET_ACCESS_KEY\"]'",
        "ruby-fetch": "ruby -e 'puts ENV.fetch(\"GITHUB_TOKEN\")'",
        "ruby-whole": "ruby -e 'p ENV.to_h'",
        "ruby-each": "ruby -e 'ENV.each { |k, v| puts \"#{k}=#{v}\" }'",
        "ruby-interp": 'ruby -e "puts \\"t=#{ENV[\'GITHUB_TOKEN\']}\\""',
        "ruby-var": "ruby -e 't = ENV[\"GITHUB_TOKEN\"]; puts t'",
        "perl-env": "perl -e 'print $ENV{GITHUB_TOKEN}'",
        "perl-env-quoted": 'perl -e \'print $ENV{"GITHUB_TOKEN"}, "\\n"\'',
        "perl-interp": "perl -e 'print \"$ENV{GITHUB_TOKEN}\\n\"'",
        "perl-whole": "perl -e 'print \"$_=$ENV{$_}\\n\" for keys %ENV'",
        "perl-var": "perl -e 'my $t = $ENV{NPM_TOKEN}; print $t'",
        "perl-say": "perl -E 'say $ENV{GITHUB_TOKEN}'",
        "php-getenv": "php -r 'echo getenv(\"DB_PASSWORD\");'",
        "php-env-array": "php -r 'print_r($_ENV);'",
        "php-getenv-all": "php -r 'var_dump(getenv());'",
        "php-server": "php -r 'echo $_SERVER[\"GITHUB_TOKEN\"];'",
        "lua-getenv": "lua -e 'print(os.getenv(\"API_KEY\"))'",
        "node-destructure": "node -e 'const {GITHUB_TOKEN, HOME} = process.env; console.log(GITHUB_TOKEN)'",
        "node-foreach": "node -e 'Object.entries(process.env).forEach(([k, v]) => console.log(k, v))'",
        "node-for-in-lookup": "node -e 'for (const k in process.env) console.log(k, process.env[k])'",
        "perl-each": "perl -e 'while (my ($k, $v) = each %ENV) { print \"$k=$v\\n\" }'",
        "perl-values": "perl -e 'for my $v (values %ENV) { print $v }'",
        "php-foreach": "php -r 'foreach ($_ENV as $k => $v) { echo \"$k=$v\\n\"; }'",
        "ruby-for": "ruby -e 'for k, v in ENV do puts v end'",
        "perl-concat-assign": "perl -e 'my $t = \"\"; $t .= $ENV{GITHUB_TOKEN}; print $t'",
        "py-vars-os": "python3 -c 'import os; print(vars(os)[\"environ\"])'",
        "py-getattr-os": 'python3 -c \'import os; print(getattr(os, "environ")["GITHUB_TOKEN"])\'',
        "py-star-import": "python3 -c 'from os import *; print(environ)'",
        "py-exec-nested": 'python3 -c \'exec("print(__import__(\\"os\\").environ)")\'',
        "py-list-append": "python3 -c 'import os; l = []; l.append(os.environ[\"GITHUB_TOKEN\"]); print(l)'",
        "py-dict-item": 'python3 -c \'import os; x = {}; x["t"] = os.environ["GITHUB_TOKEN"]; print(x)\'',
        "py-values-star": "python3 -c 'import os; print(*os.environ.values())'",
        "node-require-process": "node -e 'console.log(require(\"process\").env.GITHUB_TOKEN)'",
        "node-globalthis": "node -e 'console.log(globalThis.process.env)'",
        "php-phpinfo": "php -r 'phpinfo();'",
    },
)

TO_FILES = cases(
    APPROVE,
    {
        "py-write-file": 'python3 -c \'import os; open("t.txt","w").write(os.environ["GITHUB_TOKEN"])\'',
        "py-with-file": 'python3 -c \'import os\nwith open("env.txt", "w") as f:\n    f.write(str(dict(os.environ)))\'',
        "py-print-to-file": 'python3 -c \'import os; f = open("out.txt", "a"); print(os.environ["NPM_TOKEN"], file=f)\'',
        "py-pathlib-write": 'python3 -c \'import os, pathlib; pathlib.Path("tok").write_text(os.environ["GITHUB_TOKEN"])\'',
        "py-json-dump-file": 'python3 -c \'import os, json; json.dump(dict(os.environ), open("env.json", "w"))\'',
        "node-write-file": 'node -e \'require("fs").writeFileSync("t.txt", process.env.GITHUB_TOKEN)\'',
    },
)

NOT_SHOWN = cases(
    ALLOW,
    {
        "py-ssh-remote-not-us": "python3 -c 'import os; print(os.environ[\"SSH_AUTH_SOCK\"])'",
        "py-redirect-null": "python3 -c 'import os; print(os.environ[\"GITHUB_TOKEN\"])' > /dev/null",
        "py-docker-login": "python3 -c 'import os; print(os.environ[\"DOCKER_PASSWORD\"])' | docker login -u me --password-stdin",
        "py-set-by-text": "GITHUB_TOKEN=abc python3 -c 'import os; print(os.environ[\"GITHUB_TOKEN\"])'",
        "ok-py-home": "python3 -c 'import os; print(os.environ[\"HOME\"])'",
        "ok-py-path": "python3 -c 'import os; print(os.getenv(\"PATH\"))'",
        "ok-py-names": "python3 -c 'import os; print(sorted(os.environ))'",
        "ok-py-keys": "python3 -c 'import os; print(list(os.environ.keys()))'",
        "ok-py-in": "python3 -c 'import os; print(\"GITHUB_TOKEN\" in os.environ)'",
        "ok-py-is-set": "python3 -c 'import os; print(os.getenv(\"GITHUB_TOKEN\") is not None)'",
        "ok-py-len": 'python3 -c \'import os; print(len(os.environ.get("GITHUB_TOKEN", "")))\'',
        "ok-py-hash": "python3 -c 'import os, hashlib; print(hashlib.sha256(os.environ[\"GITHUB_TOKEN\"].encode()).hexdigest())'",
        "ok-py-startswith": 'python3 -c \'import os; print(os.environ["GITHUB_TOKEN"].startswith("ghp_"))\'',
        "ok-py-used-in-request": 'python3 -c \'import os, urllib.request as u; r = u.Request("https://api.github.com/user", headers={"Authorization": "token " + os.environ["GITHUB_TOKEN"]}); print(u.urlopen(r).status)\'',
        "ok-py-keys-loop": "python3 -c 'import os\nfor k in os.environ:\n    print(k)'",
        "ok-py-id-var": "python3 -c 'import os; print(os.environ[\"AWS_ACCESS_KEY_ID\"])'",
        "ok-py-print-other": 'python3 -c \'import os; t = os.environ["GITHUB_TOKEN"]; print("token is set")\'',
        "ok-py-version": "python3 -c 'import sys; print(sys.version)'",
        "ok-node-keys": "node -e 'console.log(Object.keys(process.env))'",
        "ok-node-home": "node -e 'console.log(process.env.HOME)'",
        "ok-node-version": "node -e 'console.log(process.version)'",
        "ok-node-used": 'node -e \'fetch("https://api.github.com/user", {headers: {Authorization: "token " + process.env.GITHUB_TOKEN}}).then(r => console.log(r.status))\'',
        "ok-ruby-keys": "ruby -e 'puts ENV.keys'",
        "ok-ruby-home": "ruby -e 'puts ENV[\"HOME\"]'",
        "ok-perl-keys": "perl -e 'print join(\"\\n\", keys %ENV)'",
        "ok-perl-home": "perl -e 'print $ENV{HOME}'",
        "ok-php-home": "php -r 'echo getenv(\"HOME\");'",
        "ok-lua-home": "lua -e 'print(os.getenv(\"HOME\"))'",
        "ok-node-destructure-home": "node -e 'const {GITHUB_TOKEN, HOME} = process.env; console.log(HOME)'",
        "ok-node-for-in-keys": "node -e 'for (const k in process.env) console.log(k)'",
        "ok-perl-compare": 'perl -e \'print "set\\n" if $ENV{GITHUB_TOKEN} ne ""\'',
        "ok-ruby-each-key": "ruby -e 'ENV.each_key { |k| puts k }'",
    },
)

#: A constant changed after its assignment is not that constant any more.
CHANGED_CONSTANTS = cases(
    DENY,
    {
        "py-augmented": 'python3 -c \'import os; c = "echo hi"; c += "; rm -rf /"; os.system(c)\'',
        "py-list-appended": 'python3 -c \'import os; c = ["echo"]; c.append("hi"); '
        'os.system(" ".join(c))\'',
        "py-item-set": 'python3 -c \'import subprocess; c = ["ls", "-l"]; c[0] = "rm"; '
        'c[1] = "-rf"; c.append("/"); subprocess.run(c)\'',
        "py-rebound-after-def": 'python3 -c \'import os\nc = "echo hi"\ndef g():\n'
        '    os.system(c)\nc = "rm -rf /"\ng()\'',
        "py-changed-in-loop": 'python3 -c \'import os\nc = "echo hi"\nfor i in range(2):\n'
        '    os.system(c)\n    c += "; rm -rf /"\'',
        "perl-appended": 'perl -e \'$c = "echo hi"; $c .= "; rm -rf /"; system($c)\'',
        "ruby-appended": 'ruby -e \'c = "echo hi"; c += "; rm -rf /"; system(c)\'',
        "ruby-shovel": 'ruby -e \'c = "echo hi"; c << "; rm -rf /"; system(c)\'',
        "node-appended": 'node -e \'let c = "echo hi"; c += "; rm -rf /"; '
        'require("child_process").execSync(c)\'',
        "php-appended": 'php -r \'$c = "echo hi"; $c .= "; rm -rf /"; system($c);\'',
    },
)
UNCHANGED_CONSTANTS = cases(
    ALLOW,
    {
        "ok-py-constant": "python3 -c 'import os; c = \"echo hi\"; os.system(c)'",
        "ok-perl-constant": "perl -e '$c = \"echo hi\"; system($c)'",
    },
)

CASES = [*SHOWN, *TO_FILES, *NOT_SHOWN, *CHANGED_CONSTANTS, *UNCHANGED_CONSTANTS]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("interpreter-secrets")
        patch.chdir(directory)
        for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
            patch.delenv(name, raising=False)
        yield directory / "audit.log"


@pytest.mark.parametrize(("command", "expected"), CASES)
def test_decision(ledger: Path, command: str, expected: str) -> None:
    result = authorize_action(CTX, "execute_shell", {"command": command}, audit_log_path=ledger)
    assert result["decision"] == expected, result["reason"]


def test_every_case_has_a_unique_id() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_a_shown_secret_is_named_in_the_reason(ledger: Path) -> None:
    command = "python3 -c 'import os; print(os.environ[\"AWS_SECRET_ACCESS_KEY\"])'"
    result = authorize_action(CTX, "execute_shell", {"command": command}, audit_log_path=ledger)
    assert "the code prints AWS_SECRET_ACCESS_KEY" in result["reason"]


def test_python_effects_say_which_variable_and_where() -> None:
    code = (
        "import os, json\n"
        "print(os.getenv('GITHUB_TOKEN'))\n"
        "json.dump(dict(os.environ), open('env.json', 'w'))\n"
    )
    secrets = [e for e in python_effects(code) if e.kind.startswith("secret")]
    assert [(e.kind, e.text, e.variables) for e in secrets] == [
        (EffectKind.SECRET_PRINT, "prints GITHUB_TOKEN", ("GITHUB_TOKEN",)),
        (EffectKind.SECRET_WRITE, "env.json", ()),
    ]


def test_script_effects_follow_names_assigned_from_secrets() -> None:
    effects = script_effects("perl", 'my $t = $ENV{NPM_TOKEN}; my $u = "x" . $t; print $u')
    assert [(e.kind, e.text) for e in effects] == [(EffectKind.SECRET_PRINT, "prints NPM_TOKEN")]


def test_code_that_does_not_parse_is_not_taken_for_a_print() -> None:
    with pytest.raises(SyntaxError):
        ast.parse("print(os.environ[")
    effects = python_effects("print(os.environ[")
    assert [e.kind for e in effects] == [EffectKind.UNVERIFIABLE]
