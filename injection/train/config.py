"""Settings of a continual-training run (`kg train`), from a TOML/YAML file, Python or the CLI.

Continual pretraining of a model that already works needs care not to destroy what it knows: a low
learning rate (1e-5 to 5e-5 for full fine-tuning of a small model; the default is 2e-5), a linear warmup
(``warmup_ratio`` of the steps) followed by a cosine decay, and general "replay" text mixed in with the
domain text. ``kg synth`` already mixes replay into ``train/cpt``; ``replay`` here adds more at training
time, measured in tokens of the model's own tokenizer.

A settings file holds the fields of :class:`TrainSettings` at the top level, with ``[probe]`` and
``[lora]`` tables (TOML) or mappings (YAML)::

    model = "smollm2"
    data = "datasets/tech"
    output_dir = "runs/tech"
    learning_rate = 2e-5
    max_steps = 2000
    probe_every = 200

    [lora]
    r = 16

Relative paths in a file are taken relative to the file's folder, so a file can sit next to its data.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kg.errors import ConfigError

Kind = Literal["cpt", "sft"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]
Scheduler = Literal["cosine", "linear", "constant_with_warmup"]


class ProbeSettings(BaseModel):
    """What the knowledge probe asks during training (see :class:`injection.train.probe.ProbeConfig`).

    Attributes:
        split: the dataset split asked: ``eval`` (facts trained as text, questions unseen),
            ``heldout`` (entities training never mentions: a control that should not improve) or
            ``train`` (the training questions).
        kinds: question kinds asked (``mc``, ``tf``, ``qa``, ``refusal``); None = all of them.
        max_items: most questions per kind (None = all); keeps periodic probes cheap.
        general_text: a ``.jsonl``/``.parquet`` file of general text, not trained on, whose perplexity
            measures forgetting; None = no perplexity.
        general_field: the text field of ``general_text``.
    """

    model_config = ConfigDict(extra="forbid")

    split: Literal["eval", "heldout", "train"] = "eval"
    kinds: list[str] | None = None
    max_items: int | None = Field(default=100, gt=0)
    general_text: Path | None = None
    general_field: str = "text"

    def probe_config(self, seed: int = 0) -> Any:
        """The :class:`~injection.train.probe.ProbeConfig` these settings describe.

        Raises:
            UnknownComponentError: an unknown question kind.
        """
        from injection.train.probe import PROBE_KINDS, ProbeConfig

        return ProbeConfig(split=self.split, kinds=tuple(self.kinds or PROBE_KINDS), max_items=self.max_items,
                           general=self.general_text, general_field=self.general_field, seed=seed)


class LoraSettings(BaseModel):
    """Low-rank adapters (peft) instead of full fine-tuning.

    Only the adapter weights train. At the end the adapter is saved to ``OUTPUT/adapter`` and also
    merged into the base weights, so ``OUTPUT/final`` is a plain model any loader reads.

    Attributes:
        r: adapter rank.
        alpha: scaling numerator (the update is scaled by ``alpha / r``).
        dropout: dropout on the adapter input.
        target_modules: module names to adapt, or ``"all-linear"`` (every linear layer but the output).
    """

    model_config = ConfigDict(extra="forbid")

    r: int = Field(default=8, gt=0)
    alpha: float = Field(default=16.0, gt=0)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] | str = "all-linear"


class TrainSettings(BaseModel):
    """Everything that decides a training run.

    Attributes:
        model: ``None`` or ``"smollm2"`` (the packaged SmolLM2-135M-Instruct), or a model folder/.gguf.
        data: a dataset folder written by ``kg synth``.
        output_dir: where checkpoints, ``probe_log.jsonl`` and ``final/`` go.
        kinds: training files used: ``cpt`` (text) and/or ``sft`` (chat questions and answers).
        learning_rate: peak learning rate; 1e-5..5e-5 suits full continual training of a small
            model (LoRA tolerates ~10x more). Any positive value is accepted.
        warmup_ratio: share of the steps spent warming up linearly from 0.
        lr_scheduler: decay after the warmup.
        epochs: passes over the data (ignored when ``max_steps`` is set).
        max_steps: optimizer steps to train in total (a resumed run counts the earlier steps).
        batch_size: sequences per device per micro-batch.
        gradient_accumulation_steps: micro-batches per optimizer step.
        seq_len: tokens per training sequence.
        packing: concatenate documents into full ``seq_len`` blocks (no padding) instead of one
            padded sequence per document.
        sft_mask_prompt: train SFT rows on the answer only (prompt tokens get no loss).
        replay: an extra ``.jsonl``/``.parquet`` file of general text mixed in at training time.
        replay_ratio: replay share of all training tokens, in (0, 1).
        replay_field: the replay file's text field.
        precision: ``auto`` = bf16 on CUDA with bf16 support, else fp16 on CUDA, fp32 on CPU.
        weight_decay: AdamW weight decay.
        max_grad_norm: gradient clipping (0 = off).
        save_steps: steps between checkpoints.
        save_total_limit: checkpoints kept (oldest deleted; None = all).
        logging_steps: steps between loss log entries.
        probe_every: steps between knowledge probes (0 = no probing).
        probe: what the probe asks.
        lora: adapter settings, or None for full fine-tuning.
        seed: seed of the data order, initialisation of adapters and dropout.
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    data: Path | None = None
    output_dir: Path = Path("train_out")
    kinds: list[Kind] = Field(default_factory=lambda: ["cpt", "sft"], min_length=1)
    learning_rate: float = Field(default=2e-5, gt=0)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    lr_scheduler: Scheduler = "cosine"
    epochs: float = Field(default=1.0, gt=0)
    max_steps: int | None = Field(default=None, gt=0)
    batch_size: int = Field(default=8, gt=0)
    gradient_accumulation_steps: int = Field(default=1, gt=0)
    seq_len: int = Field(default=512, ge=8)
    packing: bool = True
    sft_mask_prompt: bool = True
    replay: Path | None = None
    replay_ratio: float = Field(default=0.2, gt=0, lt=1)
    replay_field: str = "text"
    precision: Precision = "auto"
    weight_decay: float = Field(default=0.0, ge=0)
    max_grad_norm: float = Field(default=1.0, ge=0)
    save_steps: int = Field(default=200, gt=0)
    save_total_limit: int | None = Field(default=2, gt=0)
    logging_steps: int = Field(default=10, gt=0)
    probe_every: int = Field(default=0, ge=0)
    probe: ProbeSettings = Field(default_factory=ProbeSettings)
    lora: LoraSettings | None = None
    seed: int = 0

    @field_validator("kinds")
    @classmethod
    def _unique_kinds(cls, kinds: list[str]) -> list[str]:
        return list(dict.fromkeys(kinds))

    def with_overrides(self, **overrides: Any) -> TrainSettings:
        """A validated copy with the given fields replaced; ``None`` values are ignored.

        ``lora=True`` turns LoRA on with default (or the current) adapter settings, ``lora=False``
        turns it off. This is how CLI options override a settings file.

        Raises:
            ConfigError: an override has an unknown name or a bad value.
        """
        values = self.model_dump()
        for name, value in overrides.items():
            if value is None:
                continue
            if name == "lora" and isinstance(value, bool):
                value = (values["lora"] or {}) if value else None
            values[name] = value
        return _validate(values, "settings override")


def _format(exc: ValidationError, source: str) -> str:
    problems = []
    valid_lists: dict[str, str] = {}  # one list of valid names per table, however many keys are unknown
    for err in exc.errors()[:5]:
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg, table, valid = _unknown_key(err["loc"])
            if valid:
                valid_lists[table] = valid
        problems.append(f"{loc}: {msg}")
    problems += [f"valid {table} settings: {valid}" for table, valid in valid_lists.items()]
    return f"invalid {source}: " + "; ".join(problems) + " — fix the setting(s) named and re-run"


_HINTS = {"lr": "learning_rate", "out": "output_dir", "output": "output_dir", "steps": "max_steps",
          "dataset": "data", "warmup": "warmup_ratio", "scheduler": "lr_scheduler", "rank": "r"}


def _unknown_key(loc: tuple[Any, ...]) -> tuple[str, str, str]:
    """'unknown setting' with the closest valid name, else the table's valid names to list once.

    Returns:
        (message, table name, valid names joined; empty when a close name was suggested).
    """
    model: type[BaseModel] = TrainSettings
    table = "top-level"
    if len(loc) > 1 and loc[0] in ("probe", "lora"):
        model = ProbeSettings if loc[0] == "probe" else LoraSettings
        table = f"[{loc[0]}]"
    valid = sorted(model.model_fields)
    key = str(loc[-1])
    close = [_HINTS[key]] if _HINTS.get(key) in valid else difflib.get_close_matches(key, valid, n=1)
    if close:
        return f"unknown setting (did you mean {close[0]!r}?)", table, ""
    return "unknown setting", table, ", ".join(valid)


def _validate(values: Mapping[str, Any], source: str) -> TrainSettings:
    try:
        return TrainSettings.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(_format(exc, source)) from None


def load_settings(path: str | Path, **overrides: Any) -> TrainSettings:
    """Read settings from a ``.toml``, ``.yaml`` or ``.yml`` file, then apply ``overrides``.

    Relative paths in the file (``data``, ``output_dir``, ``replay``, ``probe.general_text``, and
    ``model`` when it names an existing file or folder) are resolved against the file's folder.

    Raises:
        ConfigError: missing or unparsable file, unknown keys or bad values (the message names them).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"settings file {path} not found; pass an existing --config file")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            raw: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            raw = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"settings file {path} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"settings file {path} cannot be parsed ({exc}); fix the syntax and re-run") \
            from None
    if not isinstance(raw, dict):
        raise ConfigError(f"settings file {path} must hold a mapping of settings at the top level")
    settings = _validate(raw, f"settings file {path}")
    settings = _resolve_paths(settings, path.parent)
    return settings.with_overrides(**overrides) if overrides else settings


def _resolve_paths(settings: TrainSettings, base: Path) -> TrainSettings:
    def resolve(value: Path | None) -> Path | None:
        return value if value is None or value.is_absolute() else base / value

    update: dict[str, Any] = {"data": resolve(settings.data), "output_dir": resolve(settings.output_dir),
                              "replay": resolve(settings.replay)}
    if settings.model and not Path(settings.model).is_absolute() and (base / settings.model).exists():
        update["model"] = str(base / settings.model)
    probe = settings.probe.model_copy(update={"general_text": resolve(settings.probe.general_text)})
    return settings.model_copy(update={**update, "probe": probe})


__all__ = ["Kind", "LoraSettings", "Precision", "ProbeSettings", "TrainSettings", "load_settings"]
