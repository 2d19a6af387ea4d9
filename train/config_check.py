"""Every key and value of a resolved config checked before any data is loaded.

The schema is read from where each setting is used, so a key added there is checked at once:
- ``data``, ``train`` and the top level: the keys of ``config.DEFAULTS``, each value typed like
  its default (a float default takes any number, a list default a list), with the ranges and
  choices of :data:`RULES`; nested mappings in DEFAULTS are checked key by key likewise.
- ``model``: ``backbone`` is one of ``repose_core.models.BACKBONES``; the other keys are the
  keyword arguments of that backbone's class, typed by its annotations, and the model is built
  once, so its own checks (odd filter widths, ...) run too.
- ``loss``: the keyword arguments of ``RePoseLoss`` (plus keys DEFAULTS gives the section), typed
  by its annotations; the loss is built once, so its own checks run too.
- ``synth``: the keys of DEFAULTS["synth"] and :data:`SYNTH_DATACLASSES`; an option backed by a
  dataclass takes true, false or a mapping of that dataclass's fields, typed by its annotations.

Registering a new key: add it with its default to ``config.DEFAULTS`` (typed by that default);
give it a :data:`RULES` entry when its default is None or when it has a range or choices. A new
keyword argument of a backbone or of RePoseLoss needs nothing here; a new synth option backed by
a dataclass gets an entry in :data:`SYNTH_DATACLASSES`.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import importlib
import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

ConfigProblems = list[str]


@dataclass(frozen=True)
class Rule:
    """What a key's value may be: ``kind`` ("int", "number", "str", "bool", "list", "mapping"),
    whether null is allowed, a lower bound, choices, or a check returning a problem (or None)."""

    kind: str
    optional: bool = False
    minimum: float | None = None
    above: bool = False                       # minimum excluded (> rather than >=)
    choices: tuple[Any, ...] | None = None
    check: Callable[[Any], str | None] | None = None


def _regex_with_group(value: str) -> str | None:
    try:
        groups = re.compile(value).groups
    except re.error as exc:
        return f"is not a regular expression ({exc})"
    return None if groups >= 1 else "needs a group: (...) = the person"


def _weights(value: dict) -> str | None:
    bad = {k: v for k, v in value.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0}
    return None if not bad else f"needs a weight >= 0 for each family ({sorted(bad)} are not)"


def _folders(value: list) -> str | None:
    if not value:
        return "must name at least one folder (or be null)"
    return None if all(isinstance(v, str) and v for v in value) else "must be a list of folder paths"


def _device(value: str) -> str | None:
    return None if value in ("auto", "cpu", "cuda") or re.fullmatch(r"cuda:\d+", value) else \
        "must be auto, cpu, cuda or cuda:N"


RULES: dict[str, Rule] = {
    "name": Rule("str", check=lambda v: None if v.strip() else "must not be empty"),
    "seed": Rule("int", minimum=0),
    "run_dir": Rule("str", optional=True),
    "data.format": Rule("str", choices=("bvh", "h36m")),
    "data.h36m_3d": Rule("str", optional=True),
    "data.train": Rule("list", check=lambda v: None if v else "must name at least one source"),
    "data.val": Rule("list", check=lambda v: None if v else "must name at least one source"),
    "data.fps": Rule("number", minimum=0, above=True),
    "data.val_windows": Rule("int", minimum=1),
    "data.cache_dir": Rule("str", optional=True),
    "data.max_clips": Rule("int", optional=True, minimum=1),
    "data.subject_pattern": Rule("str", optional=True, check=_regex_with_group),
    "data.rendered": Rule("list", optional=True, check=_folders),
    "data.family_weights": Rule("mapping", check=_weights),   # free keys: skeleton families
    "data.rendered_fraction": Rule("number", minimum=0, check=lambda v: None if v <= 1 else "must be at most 1"),
    "data.rendered_person_bones": Rule("str", choices=("all", "limbs")),
    "data.rendered_roll_deg": Rule("number", minimum=0),
    "data.rendered_person_share": Rule("number", minimum=0, check=lambda v: None if v <= 1 else "must be at most 1"),
    "train.epochs": Rule("int", minimum=1),
    "train.batches_per_epoch": Rule("int", minimum=1),
    "train.batch_size": Rule("int", minimum=1),
    "train.frames_out": Rule("int", minimum=1),
    "train.lr": Rule("number", minimum=0, above=True),
    "train.lr_final": Rule("number", minimum=0, above=True),
    "train.weight_decay": Rule("number", minimum=0),
    "train.grad_clip": Rule("number", optional=True, minimum=0),
    "train.device": Rule("str", check=_device),
    "train.threads": Rule("int", optional=True, minimum=1),
    "train.workers": Rule("int", minimum=0),
    "train.prefetch": Rule("int", minimum=1),
    "train.val_every": Rule("int", minimum=1),
    "train.init_from": Rule("str", optional=True),
}
# synth options that take true, false or a mapping of a dataclass's fields: "module:Class".
SYNTH_DATACLASSES: dict[str, str] = {
    "occlusion": "train.synth.occlusion:OcclusionConfig",
    "augment": "train.synth.sampler:BodyConfig",
    "cameras": "train.synth.cameras:CameraConfig",
}
_PASS_THROUGH = ("model", "loss", "synth")


def check_config(cfg: dict, defaults: dict) -> ConfigProblems:
    """Every problem of ``cfg`` (a resolved config) as one phrase each; empty when it is fine."""
    problems: ConfigProblems = []
    for key, value in cfg.items():
        if key in _PASS_THROUGH and isinstance(value, dict):
            problems += _CHECKERS[key](value, defaults.get(key, {}))
        elif key not in defaults:
            problems.append(_unknown(key, defaults))
        else:
            problems += _check_against_defaults(key, value, defaults[key])
    return problems


def rule_for(path: str, default: Any) -> Rule | None:
    """The rule of a DEFAULTS key: its :data:`RULES` entry, else one typed by its default
    (None for a None default without an entry: such a key cannot be checked)."""
    if path in RULES:
        return RULES[path]
    kind = {bool: "bool", int: "int", float: "number", str: "str", list: "list", dict: "mapping"}
    return Rule(kind[type(default)]) if type(default) in kind else None


def _unknown(path: str, known: collections.abc.Iterable[str]) -> str:
    return f"unknown key '{path}' (known: {', '.join(sorted(known))})"


def _check_against_defaults(path: str, value: Any, default: Any) -> ConfigProblems:
    if isinstance(default, dict) and path not in RULES:   # a section: checked key by key
        if not isinstance(value, dict):
            return [f"'{path}' must be a mapping, got {value!r}"]
        problems = []
        for key, sub in value.items():
            if key not in default:
                problems.append(_unknown(f"{path}.{key}", (f"{path}.{k}" for k in default)))
            else:
                problems += _check_against_defaults(f"{path}.{key}", sub, default[key])
        return problems
    rule = rule_for(path, default)
    problem = None if rule is None else _apply_rule(rule, value)
    return [] if problem is None else [f"{path} {problem}, got {value!r}"]


_KIND_WORDS = {"int": "an integer", "number": "a number", "str": "a string", "bool": "true or false",
               "list": "a list", "mapping": "a mapping"}


def _apply_rule(rule: Rule, value: Any) -> str | None:
    if value is None:
        return None if rule.optional else f"must be {_KIND_WORDS[rule.kind]}, not null"
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list),
        "mapping": isinstance(value, dict),
    }[rule.kind]
    if not ok:
        return f"must be {_KIND_WORDS[rule.kind]}" + (" or null" if rule.optional else "")
    if rule.choices is not None and value not in rule.choices:
        return f"must be one of {', '.join(map(str, rule.choices))}"
    if rule.minimum is not None and (value <= rule.minimum if rule.above else value < rule.minimum):
        return f"must be {'>' if rule.above else '>='} {rule.minimum:g}"
    return None if rule.check is None else rule.check(value)


# ----------------------------------------------------------------------------- typed by annotations
def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None):
        return "null"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (list, tuple, collections.abc.Sequence):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)} ({', '.join(_describe(a) for a in args)})"
        return f"a list of ({_describe(args[0])})" if args else "a list"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _matches(value: Any, hint: Any) -> bool:
    """Whether a YAML value fits a type annotation (lists stand for tuples and sequences)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args))
        return not args or all(_matches(v, args[0]) for v in value)
    if origin in (dict, collections.abc.Mapping) or hint is dict:
        return isinstance(value, dict)
    return True  # a class the YAML cannot spell: its constructor checks it


def _check_keywords(section: str, options: dict, hints: dict[str, Any], defaults: dict) -> ConfigProblems:
    """Options against keyword arguments ``hints`` (name -> annotation); keys the section's
    DEFAULTS add (read by the trainer, not the constructor) are typed by their defaults."""
    known = set(hints) | set(defaults)
    problems = []
    for key, value in options.items():
        if key not in known:
            problems.append(_unknown(f"{section}.{key}", (f"{section}.{k}" for k in known)))
        elif key in hints and not _matches(value, hints[key]):
            problems.append(f"{section}.{key} must be {_describe(hints[key])}, got {value!r}")
        elif key not in hints:
            problems += _check_against_defaults(f"{section}.{key}", value, defaults[key])
    return problems


def _keyword_hints(function: Callable) -> dict[str, Any]:
    """Keyword arguments of ``function`` and their annotations (resolved)."""
    resolved = typing.get_type_hints(function)
    return {name: resolved.get(name, inspect.Parameter.empty)
            for name, p in inspect.signature(function).parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _construct(section: str, build: Callable[[], Any]) -> ConfigProblems:
    """Build the real object once so its own checks run; their message is the problem."""
    try:
        build()
    except (TypeError, ValueError) as exc:
        return [f"{section}: {exc}"]
    return []


def _check_model(options: dict, defaults: dict) -> ConfigProblems:
    from repose_core.models import BACKBONES, build_model

    name = options.get("backbone")
    if name not in BACKBONES:
        return [f"model.backbone must be one of {', '.join(sorted(BACKBONES))}, got {name!r}"]
    hints = _keyword_hints(BACKBONES[name].__init__)
    problems = _check_keywords("model", options, hints, {**defaults, "backbone": name})
    passed = {k: v for k, v in options.items() if k in hints or k == "backbone"}
    return problems or _construct("model", lambda: build_model(passed))


def _check_loss(options: dict, defaults: dict) -> ConfigProblems:
    from repose_core.losses import RePoseLoss

    hints = _keyword_hints(RePoseLoss.__init__)
    problems = _check_keywords("loss", options, hints, defaults)
    passed = {k: v for k, v in options.items() if k in hints}
    return problems or _construct("loss", lambda: RePoseLoss(**passed))


def _dataclass(spec: str) -> type:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def _check_synth(options: dict, defaults: dict) -> ConfigProblems:
    problems = []
    for key, value in options.items():
        if key in SYNTH_DATACLASSES:
            cls = _dataclass(SYNTH_DATACLASSES[key])
            if isinstance(value, bool) or (value is None and key not in defaults):
                continue
            if not isinstance(value, dict):
                problems.append(f"synth.{key} must be true, false or a mapping of {cls.__name__} "
                                f"fields, got {value!r}")
                continue
            hints = typing.get_type_hints(cls)
            fields = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
            found = _check_keywords(f"synth.{key}", value, fields, {})
            # YAML has no tuples; the dataclasses use them for (mean, std) and ranges.
            built = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            problems += found or _construct(f"synth.{key}", lambda: cls(**built))
        elif key not in defaults:
            problems.append(_unknown(f"synth.{key}", (f"synth.{k}" for k in set(defaults) | set(SYNTH_DATACLASSES))))
        else:
            problems += _check_against_defaults(f"synth.{key}", value, defaults[key])
    return problems


_CHECKERS: dict[str, Callable[[dict, dict], ConfigProblems]] = {
    "model": _check_model, "loss": _check_loss, "synth": _check_synth,
}
