"""Compilers: a program built from source this text wrote is code this text wrote.

Why: ``echo 'int main(){system("rm -rf /");}' > a.c; gcc a.c; ./a.out`` runs
``rm -rf /`` through a binary no analyzer reads. The binary a compiler makes from a
file this text wrote (or fed it on stdin) is recorded as written with unknown
contents, so running it needs approval, like any file this text made and cannot
show. A binary built from files that were there before is the project's own code,
as a script already in the repository is: running it stays as it was. Toolchains
that build and run in one step (``tcc -run``, ``go run``, ``cargo test``, ``java``)
need approval when they would run code this text wrote; ``go generate`` runs the
``//go:generate`` lines of the Go files this text wrote, and those are analysed.
"""

from __future__ import annotations

import posixpath
import re

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_programs import word_set
from canopy.decisions.analyzers.shell_rules import Call, write_target
from canopy.decisions.analyzers.shell_tool_effects import run_shell
from canopy.decisions.analyzers.shell_words import LABEL_BUILT, Stream, Word
from canopy.decisions.model import Severity

__all__ = ["C_COMPILERS", "TOOLCHAINS", "rule_c_compiler", "rule_toolchain"]


def _versioned(*names: str) -> frozenset[str]:
    return frozenset(names) | {f"{name}-{v}" for name in names for v in range(4, 25)}


C_COMPILERS = _versioned("gcc", "g++", "clang", "clang++") | word_set(
    "cc c++ c99 c89 tcc gfortran gccgo icc icx icpx"
)
#: Options of the C family whose value is the next word.
_C_VALUE_OPTIONS = word_set(
    "-o -I -L -D -U -x -include -imacros -isystem -iquote -idirafter -MF -MT -MQ -Xlinker "
    "-Xassembler -Xpreprocessor -T -u -z -arch -target --target -aux-info"
)
_OBJECT_SUFFIXES = {"-c": ".o", "-S": ".s"}


def rule_c_compiler(call: Call) -> None:
    sources, output, modes = _c_command_line(call.args)
    made_here = any(_made_here(call, word) for word in sources)
    if "-run" in modes:  # tcc -run: compiles and runs at once
        if made_here:
            _runs_own_code(call, "compiles and runs C")
        return
    if "-E" in modes and output is None:
        return  # preprocessed text on stdout
    if output is not None:
        outputs = [output]
    elif mode := next((m for m in ("-c", "-S") if m in modes), None):
        outputs = [
            posixpath.splitext(posixpath.basename(w.text))[0] + _OBJECT_SUFFIXES[mode]
            for w in sources
            if w.text != "-"
        ]
    else:
        outputs = ["a.out"]
    _built(call, outputs, made_here)


def _c_command_line(args: list[Word]) -> tuple[list[Word], str | None, set[str]]:
    """(source and object operands, the ``-o`` output, the mode options seen)."""
    sources: list[Word] = []
    output: str | None = None
    modes: set[str] = set()
    words = iter(args)
    for word in words:
        text = word.text
        if text == "-o":
            value = next(words, None)
            output = value.text if value is not None else None
        elif text.startswith("-o") and len(text) > 2:
            output = text[2:]
        elif text in _C_VALUE_OPTIONS:
            next(words, None)
        elif text in ("-c", "-S", "-E", "-run"):
            modes.add(text)
        elif text == "-" or not text.startswith("-"):
            sources.append(word)
    return sources, output, modes


#: Toolchain -> (subcommands that run what they build, subcommands that only build,
#: the suffixes and names of the files whose code they build). "" stands for any
#: command line (the tool has no subcommands). cargo runs ``build.rs`` and maven and
#: gradle run plugins and tests, so for them building is running.
TOOLCHAINS: dict[str, tuple[frozenset[str], frozenset[str], tuple[str, ...]]] = {
    "go": (
        frozenset({"run", "test", "generate", "vet"}),
        frozenset({"build", "install"}),
        (".go", "go.mod", ".s", ".c"),
    ),
    "cargo": (
        frozenset({"run", "test", "bench", "build", "check", "clippy", "doc", "install"}),
        frozenset(),
        (".rs", "Cargo.toml"),
    ),
    "rustc": (frozenset(), frozenset({""}), (".rs",)),
    "java": (frozenset({""}), frozenset(), (".java", ".class", ".jar")),
    "kotlin": (frozenset({""}), frozenset(), (".kt", ".kts", ".class", ".jar")),
    "dotnet": (
        frozenset({"run", "test", "build", "msbuild", "publish"}),
        frozenset(),
        (".cs", ".csproj", ".fs", ".fsproj", ".props", ".targets"),
    ),
    "mvn": (frozenset({""}), frozenset(), (".java", "pom.xml")),
    "gradle": (frozenset({""}), frozenset(), (".java", ".kt", ".gradle", ".kts")),
    "gradlew": (frozenset({""}), frozenset(), (".java", ".kt", ".gradle", ".kts")),
    "swiftc": (frozenset(), frozenset({""}), (".swift",)),
    "ghc": (frozenset(), frozenset({""}), (".hs",)),
    "runghc": (frozenset({""}), frozenset(), (".hs",)),
}


def rule_toolchain(call: Call) -> None:
    """Build-and-run tools over files this text wrote."""
    runs, builds, suffixes = TOOLCHAINS[call.name]
    operands = [w.text for w in call.args if not w.text.startswith("-")]
    subcommand = "" if "" in runs | builds else next(iter(operands), None)
    if subcommand is None:
        return
    own = [path for path in call.out.made(call.scope) if path.endswith(suffixes)]
    if call.name == "go" and subcommand == "generate":
        _go_generate(call, own)
    if not own:
        return
    if subcommand in runs:
        _runs_own_code(call, f"{call.program} builds and runs code")
    elif subcommand in builds:
        named = [text for text in operands if text.endswith(suffixes)]
        output = _option_value(call.args, "-o") or (
            posixpath.splitext(posixpath.basename(named[0]))[0] if named else None
        )
        if output is not None:
            _built(call, [output], made_here=True)


def _option_value(args: list[Word], option: str) -> str | None:
    texts = [w.text for w in args]
    for i, text in enumerate(texts):
        if text == option and i + 1 < len(texts):
            return texts[i + 1]
        if text.startswith(option + "="):
            return text[len(option) + 1 :]
    return None


def _go_generate(call: Call, own: list[str]) -> None:
    """``//go:generate`` lines run commands (go splits them itself, no shell: analysing
    them as shell is at least as strict)."""
    for path in own:
        content = call.scope.files.get(path)
        if content is None or content.text is None:
            continue
        for match in re.finditer(r"(?m)^//go:generate[ \t]+(.+)$", content.text):
            run_shell(call, match.group(1), f"go:generate in {path}")


def _made_here(call: Call, word: Word) -> bool:
    """Source this text wrote or piped in (an earlier compiler's output built from the
    project's own files does not count)."""
    if word.text == "-":
        return True
    ref = call.ref(word)
    content = call.scope.files.get(ref.path)
    if content is not None and content.labels == frozenset({LABEL_BUILT}):
        return False
    return content is not None or call.out.wrote(ref.path, glob=word.glob)


def _built(call: Call, outputs: list[str], made_here: bool) -> None:
    for output in outputs:
        ref = call.ref(Word.literal(output))
        write_target(call, ref, truncate=True, verb="compiles to")
        if not made_here and ref.info is not None:
            call.scope.files[ref.path] = Stream(None, frozenset({LABEL_BUILT}))


def _runs_own_code(call: Call, what: str) -> None:
    call.report(
        ShellRisk.UNVERIFIABLE,
        Severity.MEDIUM,
        f"{what} this command wrote: contents not analyzed",
    )
