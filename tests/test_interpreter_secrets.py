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

#: Found by a red-team pass over the first version of these rules (573 commands;
#: 198 came back wrong, these are fixed; the rest are listed in the module docstrings).
FOUND_SHOWN = cases(
    DENY,
    {
        "rt-py-sysmodules": 'python3 -c \'import sys; print(sys.modules["os"].environ["GITHUB_TOKEN"])\'',
        "rt-py-expandvars": "python3 -c 'import os; print(os.path.expandvars(\"$GITHUB_TOKEN\"))'",
        "rt-py-expandvars-brace": "python3 -c 'import os; print(os.path.expandvars(\"${NPM_TOKEN}\"))'",
        "rt-py-class-attr": "python3 -c 'import os\nclass C:\n    t = os.environ[\"GITHUB_TOKEN\"]\nprint(C.t)'",
        "rt-py-instance-attr": "python3 -c 'import os\nclass C:\n    def __init__(self):\n        self.t = os.environ[\"GITHUB_TOKEN\"]\nprint(C().t)'",
        "rt-py-func-param": "python3 -c 'import os\ndef f(x):\n    print(x)\nf(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-py-map-print": "python3 -c 'import os; list(map(print, [os.environ[\"GITHUB_TOKEN\"]]))'",
        "rt-py-map-print-values": "python3 -c 'import os; list(map(print, os.environ.values()))'",
        "rt-py-listcomp-print": "python3 -c 'import os; [print(v) for v in os.environ.values()]'",
        "rt-py-listcomp-print-items": "python3 -c 'import os; [print(k, v) for k, v in os.environ.items()]'",
        "rt-py-print-alias": "python3 -c 'import os; p = print; p(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-py-displayhook": "python3 -c 'import os, sys; sys.displayhook(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-py-input-prompt": "python3 -c 'import os; input(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-py-getlogger-warning": "python3 -c 'import os, logging; logging.getLogger().warning(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-py-logger-var": 'python3 -c \'import os, logging; log = logging.getLogger("x"); log.error(os.environ["GITHUB_TOKEN"])\'',
        "rt-py-get-default": 'python3 -c \'import os; print(os.environ.get("NOPE_XYZ", os.environ["GITHUB_TOKEN"]))\'',
        "rt-py-getenv-default": 'python3 -c \'import os; print(os.getenv("NOPE_XYZ", os.getenv("GITHUB_TOKEN")))\'',
        "rt-py-getenv-kw": "python3 -c 'import os; print(os.getenv(key=\"GITHUB_TOKEN\"))'",
        "rt-py-environ-get-kw": "python3 -c 'import os; print(os.environ.get(key=\"GITHUB_TOKEN\"))'",
        "rt-py-stderr-devnull-stdout": "python3 -c 'import os, sys; print(os.environ[\"GITHUB_TOKEN\"], file=sys.stderr)' > /dev/null",
        "rt-py-raise-devnull-stdout": "python3 -c 'import os; raise ValueError(os.environ[\"GITHUB_TOKEN\"])' > /dev/null",
        "rt-py-exit-into-docker-login": "python3 -c 'import os, sys; sys.exit(os.environ[\"DOCKER_PASSWORD\"])' | docker login -u me --password-stdin",
        "rt-py-launder-name": 'MY_VAR="$GITHUB_TOKEN" python3 -c \'import os; print(os.environ["MY_VAR"])\'',
        "rt-py-launder-export": 'export X="$AWS_SECRET_ACCESS_KEY"; python3 -c \'import os; print(os.environ["X"])\'',
        "rt-node-p": "node -p 'process.env.GITHUB_TOKEN'",
        "rt-node-p-whole": "node -p process.env",
        "rt-node-pe": "node -pe 'process.env'",
        "rt-node-print-long": "node --print 'process.env.NPM_TOKEN'",
        "rt-node-alias-env": "node -e 'const e = process.env; console.log(e.GITHUB_TOKEN)'",
        "rt-node-destructure-env": "node -e 'const {env} = process; console.log(env.GITHUB_TOKEN)'",
        "rt-node-destructure-env-whole": "node -e 'const {env} = process; console.log(env)'",
        "rt-node-process-bracket-env": 'node -e \'console.log(process["env"]["GITHUB_TOKEN"])\'',
        "rt-node-process-bracket-env-whole": "node -e 'console.log(process[\"env\"])'",
        "rt-node-rename-destructure": "node -e 'const {GITHUB_TOKEN: t} = process.env; console.log(t)'",
        "rt-node-rest-destructure": "node -e 'const {HOME, ...rest} = process.env; console.log(rest)'",
        "rt-node-throw": "node -e 'throw new Error(process.env.GITHUB_TOKEN)'",
        "rt-node-assert": "node -e 'console.assert(false, process.env.GITHUB_TOKEN)'",
        "rt-node-emitwarning": "node -e 'process.emitWarning(process.env.GITHUB_TOKEN)'",
        "rt-node-console-bracket": "node -e 'console[\"log\"](process.env.GITHUB_TOKEN)'",
        "rt-node-log-alias": "node -e 'const log = console.log; log(process.env.GITHUB_TOKEN)'",
        "rt-node-log-destructure": "node -e 'const {log} = console; log(process.env.GITHUB_TOKEN)'",
        "rt-node-foreach-ref": "node -e '[process.env.GITHUB_TOKEN].forEach(console.log)'",
        "rt-node-fs-writesync-1": "node -e 'require(\"fs\").writeSync(1, process.env.GITHUB_TOKEN)'",
        "rt-node-console-error-devnull": "node -e 'console.error(process.env.NPM_TOKEN)' > /dev/null",
        "rt-node-launder": "X=\"$GITHUB_TOKEN\" node -e 'console.log(process.env.X)'",
        "rt-node-obj-prop": "node -e 'const o = {}; o.t = process.env.GITHUB_TOKEN; console.log(o)'",
        "rt-node-function-return": "node -e 'function f() { return process.env.GITHUB_TOKEN }\nconsole.log(f())'",
        "rt-node-optional-chain": "node -e 'console.log(process?.env?.GITHUB_TOKEN)'",
        "rt-rb-stdout-shovel": "ruby -e '$stdout << ENV[\"GITHUB_TOKEN\"]'",
        "rt-rb-STDOUT-shovel": 'ruby -e \'STDOUT << ENV["GITHUB_TOKEN"] << "\\n"\'',
        "rt-rb-kernel-puts": "ruby -e 'Kernel.puts ENV[\"GITHUB_TOKEN\"]'",
        "rt-rb-syswrite": "ruby -e '$stdout.syswrite ENV[\"GITHUB_TOKEN\"]'",
        "rt-rb-puts-splat": "ruby -e 'puts *ENV.values'",
        "rt-rb-method": "ruby -e 'def t; ENV[\"GITHUB_TOKEN\"]; end\nputs t'",
        "rt-rb-map-puts": "ruby -e 'ENV.map { |k, v| v }.each { |x| puts x }'",
        "rt-pl-le": "perl -le 'print $ENV{GITHUB_TOKEN}'",
        "rt-pl-say-for-values": "perl -E 'say for values %ENV'",
        "rt-pl-print-for-values": "perl -e 'print for values %ENV'",
        "rt-pl-print-slice-for": "perl -e 'print \"$_\\n\" for @ENV{qw(GITHUB_TOKEN)}'",
        "rt-pl-syswrite": "perl -e 'syswrite STDOUT, $ENV{GITHUB_TOKEN}'",
        "rt-pl-hash-copy": "perl -e 'my %e = %ENV; print $e{GITHUB_TOKEN}'",
        "rt-pl-use-env": "perl -e 'use Env; print $GITHUB_TOKEN'",
        "rt-pl-use-env-qw": "perl -e 'use Env qw(GITHUB_TOKEN); print \"$GITHUB_TOKEN\\n\"'",
        "rt-pl-print-block-fh": "perl -e 'print {*STDOUT} $ENV{GITHUB_TOKEN}'",
        "rt-pl-print-plus-values": "perl -e 'print +(values %ENV)'",
        "rt-pl-print-plus-scalar": "perl -e 'print +$ENV{GITHUB_TOKEN}'",
        "rt-pl-sub-return": "perl -e 'sub t { return $ENV{GITHUB_TOKEN} } print t()'",
        "rt-php-at-getenv": "php -r 'echo @getenv(\"GITHUB_TOKEN\");'",
        "rt-php-func-alias": 'php -r \'$f = "getenv"; echo $f("GITHUB_TOKEN");\'',
        "rt-php-throw": "php -r 'throw new Exception(getenv(\"GITHUB_TOKEN\"));'",
        "rt-php-trigger-error": "php -r 'trigger_error(getenv(\"GITHUB_TOKEN\"));'",
        "rt-php-array-map": "php -r 'array_map(function($v) { echo $v; }, getenv());'",
        "rt-lua-stdout-colon": "lua -e 'io.stdout:write(os.getenv(\"GITHUB_TOKEN\"))'",
        "rt-lua-stderr-colon": "lua -e 'io.stderr:write(os.getenv(\"API_KEY\"))'",
        "rt-lua-getenv-alias": "lua -e 'local g = os.getenv; print(g(\"GITHUB_TOKEN\"))'",
        "rt-lua-os-bracket": 'lua -e \'print(os["getenv"]("GITHUB_TOKEN"))\'',
        "rt-c-py-exec-mutate": 'python3 -c \'import os; c = "echo hi"; exec("c += \\"; rm -rf /\\""); os.system(c)\'',
        "rt-c-py-globals-item": 'python3 -c \'import os; c = "echo hi"; globals()["c"] = "rm -rf /"; os.system(c)\'',
        "rt-c-py-globals-update": 'python3 -c \'import os; c = "echo hi"; globals().update(c="rm -rf /"); os.system(c)\'',
        "rt-c-py-setattr-module": 'python3 -c \'import os, sys; c = "echo hi"; setattr(sys.modules[__name__], "c", "rm -rf /"); os.system(c)\'',
        "rt-c-py-param-default": 'python3 -c \'import os\nc = "echo hi"\ndef f(c="rm -rf /"):\n    os.system(c)\nf()\'',
        "rt-c-py-param-shadow": 'python3 -c \'import os\nc = "echo hi"\ndef f(c):\n    os.system(c)\nf("rm -rf /")\'',
        "rt-c-py-lambda-shadow": 'python3 -c \'import os\nc = "echo hi"\nf = lambda c: os.system(c)\nf("rm -rf /")\'',
        "rt-c-py-list-alias-mutate": 'python3 -c \'import subprocess; c = ["echo", "hi"]; d = c; d[0] = "rm"; d[1] = "-rf"; d.append("/"); subprocess.run(c)\'',
        "rt-c-py-except-as": 'python3 -c \'import os\nc = "echo hi"\ntry:\n    raise Exception("rm -rf /")\nexcept Exception as c:\n    os.system(str(c))\'',
        "rt-c-py-import-as": "python3 -c 'import os\nc = \"echo hi\"\nfrom string import ascii_letters as c\nos.system(c)'",
        "rt-c-py-del-locals": 'python3 -c \'import os; c = "echo hi"; locals()["c"] = "rm -rf /"; os.system(c)\'',
        "rt-c-pl-substr-lvalue": 'perl -e \'$c = "echo hi"; substr($c, 0, 7) = "rm -rf /"; system($c)\'',
        "rt-c-pl-list-assign": 'perl -e \'$c = "echo hi"; ($c) = ("rm -rf /"); system($c)\'',
        "rt-c-pl-ref": 'perl -e \'$c = "echo hi"; $r = \\$c; $$r .= "; rm -rf /"; system($c)\'',
        "rt-c-pl-for-alias": 'perl -e \'$c = "echo hi"; for ($c) { $_ .= "; rm -rf /" } system($c)\'',
        "rt-c-rb-concat-method": 'ruby -e \'c = "echo hi"; c.concat("; rm -rf /"); system(c)\'',
        "rt-c-rb-replace": 'ruby -e \'c = "echo hi"; c.replace("rm -rf /"); system(c)\'',
        "rt-c-rb-sub-bang": 'ruby -e \'c = "echo hi"; c.sub!("hi", "hi; rm -rf /"); system(c)\'',
        "rt-c-rb-prepend": 'ruby -e \'c = "echo hi"; c.prepend("rm -rf /; "); system(c)\'',
        "rt-c-rb-index-assign": 'ruby -e \'c = "echo hi"; c[0..] = "rm -rf /"; system(c)\'',
        "rt-c-rb-insert": 'ruby -e \'c = "echo hi"; c.insert(-1, "; rm -rf /"); system(c)\'',
        "rt-c-node-destructure": 'node -e \'let c = "echo hi"; [c] = ["rm -rf /"]; require("child_process").execSync(c)\'',
        "rt-c-node-eval": 'node -e \'var c = "echo hi"; eval("c = \\"rm -rf /\\""); require("child_process").execSync(c)\'',
        "rt-c-php-ref": 'php -r \'$c = "echo hi"; $d = &$c; $d .= "; rm -rf /"; system($c);\'',
        "rt-c-php-list": 'php -r \'$c = "echo hi"; [$c] = ["rm -rf /"]; system($c);\'',
        "rt-c-php-extract": 'php -r \'$c = "echo hi"; extract(["c" => "rm -rf /"]); system($c);\'',
        "rt-c-php-varvar": 'php -r \'$c = "echo hi"; $n = "c"; $$n = "rm -rf /"; system($c);\'',
        "rt-c-lua-global-table": 'lua -e \'c = "echo hi"; _G["c"] = "rm -rf /"; os.execute(c)\'',
        "rt-py-eval-result": 'python3 -c \'print(eval("__import__(\\"os\\").environ"))\'',
        "rt-py-eval-result-name": 'python3 -c \'import os; print(eval("os.environ[\\"GITHUB_TOKEN\\"]"))\'',
        "rt-py-builtins-dunder-print": "python3 -c 'import os; __builtins__.print(os.environ[\"GITHUB_TOKEN\"])'",
        "rt-node-require-env-var": "node -e 'const env = require(\"process\").env; console.log(env.GITHUB_TOKEN)'",
        "rt-rb-each-shovel": "ruby -e 'ENV.each { |k, v| $stdout << v }'",
        "rt-pl-bare-print-underscore": "perl -e '$_ = $ENV{GITHUB_TOKEN}; print'",
        "rt-pl-say-underscore": "perl -E '$_ = $ENV{GITHUB_TOKEN}; say'",
        "rt-pl-brace-var-interp": "perl -e '$t = $ENV{GITHUB_TOKEN}; print \"${t}\\n\"'",
        "rt-fl-perl-l-e": "perl -l -e 'print $ENV{GITHUB_TOKEN}'",
        "rt-fl-perl-lne": "echo | perl -lne 'print $ENV{GITHUB_TOKEN}'",
        "rt-fl-perl-Mstrict-le": "perl -Mstrict -le 'print $ENV{GITHUB_TOKEN}'",
        "rt-fl-perl-le-rm": "perl -le 'system(\"rm -rf /\")'",
        "rt-fl-node-pe-split": "node -p -e 'process.env.GITHUB_TOKEN'",
    },
)
FOUND_TO_FILES = cases(
    APPROVE,
    {
        "rt-py-path-home-joinpath": 'python3 -c \'import os; from pathlib import Path; Path.home().joinpath("t.txt").write_text(os.environ["GITHUB_TOKEN"])\'',
        "rt-py-csv-writer": 'python3 -c \'import os, csv; csv.writer(open("t.csv", "w")).writerow([os.environ["GITHUB_TOKEN"]])\'',
        "rt-rb-file-open-block": 'ruby -e \'File.open("t.txt", "w") { |f| f.puts ENV["GITHUB_TOKEN"] }\'',
        "rt-lua-io-open-write": 'lua -e \'local f = io.open("t.txt", "w"); f:write(os.getenv("GITHUB_TOKEN")); f:close()\'',
    },
)
FOUND_NOT_SHOWN = cases(
    ALLOW,
    {
        "rt-fp-py-ifexp-set": 'python3 -c \'import os; print("set" if os.getenv("GITHUB_TOKEN") else "missing")\'',
        "rt-fp-py-ifexp-var": 'python3 -c \'import os; t = os.getenv("GITHUB_TOKEN"); print("ok" if t else "missing")\'',
        "rt-fp-py-exit-code": "python3 -c 'import os, sys; sys.exit(0 if os.getenv(\"GITHUB_TOKEN\") else 1)'",
        "rt-fp-py-names-nonempty": "python3 -c 'import os; print([k for k, v in os.environ.items() if v])'",
        "rt-fp-py-names-star": "python3 -c 'import os; print(*os.environ, sep=\"\\n\")'",
        "rt-fp-py-names-join": "python3 -c 'import os; print(\"\\n\".join(os.environ))'",
        "rt-fp-py-names-fromkeys": "python3 -c 'import os; print(list(dict.fromkeys(os.environ)))'",
        "rt-fp-py-names-items-k": "python3 -c 'import os\nfor k, v in os.environ.items():\n    print(k)'",
        "rt-fp-py-known-names-loop": 'python3 -c \'import os\nfor k in ("HOME", "USER", "SHELL"):\n    print(k, os.environ[k])\'',
        "rt-fp-py-known-names-dict": 'python3 -c \'import os, json; print(json.dumps({k: os.environ.get(k) for k in ["HOME", "PATH", "SHELL"]}))\'',
        "rt-fp-py-requests-session": 'python3 -c \'import os, requests; s = requests.Session(); s.headers["Authorization"] = "Bearer " + os.environ["GITHUB_TOKEN"]; print(s.get("https://api.github.com/user").status_code)\'',
        "rt-fp-py-github-client": "python3 -c 'import os\nfrom github import Github\ng = Github(os.environ[\"GITHUB_TOKEN\"])\nprint(g.get_user().login)'",
        "rt-fp-py-openai-client": "python3 -c 'import os, openai; client = openai.OpenAI(api_key=os.environ[\"OPENAI_API_KEY\"]); print(client.models.list())'",
        "rt-fp-py-config-print-other-key": 'python3 -c \'import os; cfg = {"token": os.environ["GITHUB_TOKEN"], "url": "https://x"}; print(cfg["url"])\'',
        "rt-fp-node-in": "node -e 'console.log(\"GITHUB_TOKEN\" in process.env)'",
        "rt-fp-node-bangbang": "node -e 'console.log(!!process.env.GITHUB_TOKEN)'",
        "rt-fp-node-boolean": "node -e 'console.log(Boolean(process.env.GITHUB_TOKEN))'",
        "rt-fp-node-ternary": 'node -e \'console.log(process.env.GITHUB_TOKEN ? "set" : "unset")\'',
        "rt-fp-node-length": "node -e 'console.log(process.env.GITHUB_TOKEN.length)'",
        "rt-fp-node-hash": 'node -e \'console.log(require("crypto").createHash("sha256").update(process.env.GITHUB_TOKEN).digest("hex"))\'',
        "rt-fp-node-hasown": "node -e 'console.log(Object.hasOwn(process.env, \"GITHUB_TOKEN\"))'",
        "rt-fp-node-var-ternary": 'node -e \'const t = process.env.GITHUB_TOKEN; console.log(t ? "set" : "unset")\'',
        "rt-fp-node-entries-keys": "node -e 'for (const [k, v] of Object.entries(process.env)) if (k.startsWith(\"npm_\")) console.log(k)'",
        "rt-fp-rb-rails-env": 'ruby -e \'puts ENV.fetch("RAILS_ENV", "development")\'',
        "rt-fp-rb-nil": "ruby -e 'puts ENV[\"GITHUB_TOKEN\"].nil?'",
        "rt-fp-rb-length": "ruby -e 'puts ENV[\"GITHUB_TOKEN\"].to_s.length'",
        "rt-fp-rb-ternary": 'ruby -e \'puts ENV["GITHUB_TOKEN"] ? "set" : "unset"\'',
        "rt-fp-rb-keys-grep": "ruby -e 'puts ENV.keys.grep(/TOKEN/)'",
        "rt-fp-rb-keys-sort": "ruby -e 'puts ENV.keys.sort'",
        "rt-fp-rb-digest": 'ruby -e \'require "digest"; puts Digest::SHA256.hexdigest(ENV["GITHUB_TOKEN"])\'',
        "rt-fp-rb-each-key-if": "ruby -e 'ENV.each { |k, v| puts k if k.end_with?(\"_TOKEN\") }'",
        "rt-fp-pl-ternary": 'perl -e \'print $ENV{GITHUB_TOKEN} ? "set" : "unset"\'',
        "rt-fp-pl-length": "perl -e 'print length $ENV{GITHUB_TOKEN}'",
        "rt-fp-pl-length-paren": "perl -e 'print length($ENV{GITHUB_TOKEN}), \"\\n\"'",
        "rt-fp-php-strlen": "php -r 'echo strlen(getenv(\"GITHUB_TOKEN\"));'",
        "rt-fp-php-ternary": 'php -r \'echo getenv("GITHUB_TOKEN") ? "set" : "unset";\'',
        "rt-fp-php-hash": 'php -r \'echo hash("sha256", getenv("GITHUB_TOKEN"));\'',
        "rt-fp-php-empty": 'php -r \'echo empty(getenv("GITHUB_TOKEN")) ? "unset" : "set";\'',
        "rt-fp-lua-set": "lua -e 'print(os.getenv(\"GITHUB_TOKEN\") ~= nil)'",
        "rt-fp-lua-len": 'lua -e \'print(#(os.getenv("GITHUB_TOKEN") or ""))\'',
        "rt-fp-rb-fetch-home-default": 'ruby -e \'puts ENV.fetch("HOME", "/root")\'',
        "rt-fp-php-getenv-home-local": "php -r 'echo getenv(\"HOME\", true);'",
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

CASES = [
    *SHOWN,
    *TO_FILES,
    *NOT_SHOWN,
    *FOUND_SHOWN,
    *FOUND_TO_FILES,
    *FOUND_NOT_SHOWN,
    *CHANGED_CONSTANTS,
    *UNCHANGED_CONSTANTS,
]


@pytest.mark.parametrize(("command", "expected"), CASES)
def test_decision(decision_ledger: Path, command: str, expected: str) -> None:
    result = authorize_action(
        CTX, "execute_shell", {"command": command}, audit_log_path=decision_ledger
    )
    assert result["decision"] == expected, result["reason"]


def test_every_case_has_a_unique_id() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_a_shown_secret_is_named_in_the_reason(decision_ledger: Path) -> None:
    command = "python3 -c 'import os; print(os.environ[\"AWS_SECRET_ACCESS_KEY\"])'"
    result = authorize_action(
        CTX, "execute_shell", {"command": command}, audit_log_path=decision_ledger
    )
    assert "the code prints AWS_SECRET_ACCESS_KEY" in result["reason"]


def test_python_effects_say_which_variable_and_where() -> None:
    code = (
        "import os, json\n"
        "print(os.getenv('GITHUB_TOKEN'))\n"
        "json.dump(dict(os.environ), open('env.json', 'w'))\n"
    )
    secrets = [e for e in python_effects(code) if e.kind.startswith("secret")]
    assert [(e.kind, e.text, e.variables) for e in secrets] == [
        (EffectKind.SECRET_PRINT, "", ("GITHUB_TOKEN",)),
        (EffectKind.SECRET_WRITE, "env.json", ()),
    ]


def test_script_effects_follow_names_assigned_from_secrets() -> None:
    effects = script_effects("perl", 'my $t = $ENV{NPM_TOKEN}; my $u = "x" . $t; print $u')
    assert [(e.kind, e.variables) for e in effects] == [(EffectKind.SECRET_PRINT, ("NPM_TOKEN",))]


def test_code_that_does_not_parse_is_not_taken_for_a_print() -> None:
    with pytest.raises(SyntaxError):
        ast.parse("print(os.environ[")
    effects = python_effects("print(os.environ[")
    assert [e.kind for e in effects] == [EffectKind.UNVERIFIABLE]
