"""Continual training with transformers' ``Trainer``: the recipe, a knowledge probe, a NaN guard.

:func:`train` runs one continual-training job from :class:`~injection.train.config.TrainSettings`:
linear warmup then cosine decay at a low learning rate, packed ``seq_len`` blocks of a ``kg synth``
dataset (plus optional replay), fp32 on CPU and bf16/fp16 on CUDA, checkpoints every ``save_steps``.

Output folder::

    OUT/settings.json        the settings of the run (a resumed run must match its shape)
    OUT/checkpoint-N/        Trainer checkpoints (model or adapter, optimizer, scheduler, RNG state)
    OUT/probe_log.jsonl      one line per probe: metrics, and gains / perplexity ratio against step 0
    OUT/final/               the trained model + tokenizer (``save_pretrained``; LoRA merged in)
    OUT/adapter/             the LoRA adapter alone (only with ``lora``; load with peft)

A run resumes from the newest complete checkpoint in ``OUT`` unless ``fresh=True``. The two callbacks
work with any ``transformers.Trainer``: :class:`ProbeCallback` and :class:`NaNGuard`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from injection.train.config import TrainSettings
from injection.train.data import DataStats
from kg.errors import ConfigError, TrainingError

try:
    from transformers import TrainerCallback
except ImportError:  # pragma: no cover - the ml extra is missing; train() says so
    TrainerCallback = object  # type: ignore[assignment,misc]

PROBE_LOG = "probe_log.jsonl"
SETTINGS_FILE = "settings.json"
KNOWLEDGE_METRICS: tuple[str, ...] = ("mc_accuracy", "mc_mrr", "tf_accuracy", "qa_exact", "qa_fuzzy",
                                      "refusal_rate")
"""Probe metrics whose rise over step 0 is knowledge gained."""

# settings that change what a checkpoint means: resuming with other values would mix two runs
_SHAPE = ("model", "data", "kinds", "seq_len", "packing", "sft_mask_prompt", "replay", "replay_ratio",
          "batch_size", "gradient_accumulation_steps", "lora", "seed")
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")

ProgressFn = Callable[[str, int, int], None]


@dataclass
class TrainReport:
    """What a :func:`train` call did.

    Attributes:
        steps: optimizer steps done in total (a resumed run counts the earlier ones).
        final_loss: the last logged training loss.
        train_loss: mean training loss over this call's steps.
        seconds: wall time of this call.
        tokens_seen: non-padding tokens trained on in total.
        probe_history: the probe log's entries (see :class:`ProbeCallback`), step 0 first.
        loss_history: ``(step, loss)`` of every logged loss.
        lr_history: ``(step, learning rate)`` at every logged step (the warmup and decay).
        output_dir: the run folder.
        final_dir: the saved model and tokenizer (``load_causal_lm(final_dir)`` loads it).
        adapter_dir: the LoRA adapter, when trained with one.
        checkpoints: checkpoint folders kept, oldest first.
        resumed_from: the checkpoint this call continued, if any.
        precision: ``fp32``, ``bf16`` or ``fp16``.
        trainable_parameters: parameters that were trained.
        parameters: all parameters of the trained model (adapters included).
        data: what went into the training blocks.
    """

    steps: int
    final_loss: float | None
    train_loss: float | None
    seconds: float
    tokens_seen: int
    probe_history: list[dict[str, Any]]
    loss_history: list[tuple[int, float]]
    lr_history: list[tuple[int, float]]
    output_dir: Path
    final_dir: Path
    adapter_dir: Path | None
    checkpoints: list[Path]
    resumed_from: Path | None
    precision: str
    trainable_parameters: int
    parameters: int
    data: DataStats = field(default_factory=DataStats)

    @property
    def probe_before(self) -> dict[str, float] | None:
        """The baseline probe's metrics (step 0), if the run probed."""
        return self.probe_history[0]["metrics"] if self.probe_history else None

    @property
    def probe_after(self) -> dict[str, float] | None:
        """The last probe's metrics, if the run probed."""
        return self.probe_history[-1]["metrics"] if self.probe_history else None


def resolve_precision(precision: str = "auto", cuda: bool | None = None) -> str:
    """The precision a run trains in: ``auto`` = bf16 on CUDA with bf16 support, else fp16 on CUDA,
    fp32 on CPU.

    Args:
        precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``.
        cuda: whether CUDA is used (None: ``torch.cuda.is_available()``).

    Raises:
        ConfigError: fp16/bf16 asked for without CUDA, or an unknown name.
    """
    import torch

    cuda = torch.cuda.is_available() if cuda is None else cuda
    if precision == "auto":
        if not cuda:
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"unknown precision {precision!r}; choose auto, fp32, bf16 or fp16")
    if precision != "fp32" and not cuda:
        raise ConfigError(f"precision {precision} needs a CUDA GPU; use auto or fp32 on CPU")
    return precision


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest complete ``checkpoint-N`` folder in ``output_dir`` (None if there is none).

    A checkpoint counts once its ``trainer_state.json`` exists: the Trainer writes it last, so a
    save that was killed half-way is skipped.
    """
    found = _checkpoints(Path(output_dir))
    complete = [p for p in found if (p / "trainer_state.json").is_file()]
    return complete[-1] if complete else None


def _checkpoints(output_dir: Path) -> list[Path]:
    if not output_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in output_dir.iterdir()
             if p.is_dir() and (m := _CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def _weights_finite(model: Any) -> bool:
    import torch

    return all(bool(torch.isfinite(p).all()) for p in model.parameters() if p.is_floating_point())


def _loss_of(output: Any) -> Any:
    if isinstance(output, dict) or hasattr(output, "keys"):
        return output.get("loss") if hasattr(output, "get") else None
    if isinstance(output, (tuple, list)) and output:
        return output[0]
    return None


class NaNGuard(TrainerCallback):
    """Stops training when the loss turns NaN/inf, and never saves a checkpoint with such weights.

    Every training forward pass's loss is checked (a forward hook on the model); weights are checked
    before each save. On a bad value the step's save is cancelled and training stops, so the newest
    checkpoint is the last good one. The Trainer itself cannot raise from a callback without
    skipping its clean-up, so call :meth:`raise_if_tripped` after ``trainer.train()``
    (:func:`train` does).

    Put it last among the callbacks, so it sees what the others did to the step.
    """

    def __init__(self) -> None:
        self.tripped: str | None = None
        self.step: int | None = None
        self._bad_loss: float | None = None
        self._hook: Any = None
        self._output_dir: Path | None = None

    def _record(self, module: Any, args: Any, output: Any) -> None:
        import torch

        if not module.training or self._bad_loss is not None:
            return
        loss = _loss_of(output)
        if isinstance(loss, torch.Tensor) and not bool(torch.isfinite(loss.detach()).all()):
            self._bad_loss = float(loss.detach().float().flatten()[0])

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self.tripped, self.step, self._bad_loss = None, None, None
        self._output_dir = Path(args.output_dir)
        if model is not None:
            self._hook = model.register_forward_hook(self._record)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        if self._bad_loss is not None:
            self._trip(state, control, f"the training loss became {self._bad_loss}")
        elif control.should_save and model is not None and not _weights_finite(model):
            self._trip(state, control, "the weights hold NaN/inf values")
        return control

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.tripped:
            control.should_save = False
        return control

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _trip(self, state: Any, control: Any, why: str) -> None:
        if self.tripped is None:
            self.tripped, self.step = why, state.global_step
        control.should_training_stop = True
        control.should_save = False
        control.should_evaluate = False

    def raise_if_tripped(self, learning_rate: float | None = None) -> None:
        """Raise :class:`~kg.errors.TrainingError` if training was stopped for NaN/inf.

        Args:
            learning_rate: the run's learning rate, named in the message.
        """
        if self.tripped is None:
            return
        last = latest_checkpoint(self._output_dir) if self._output_dir else None
        kept = (f"the last good checkpoint {last} is kept (load_causal_lm loads it); re-running resumes from "
                "it with its saved learning-rate schedule, so to change the learning rate re-run with --fresh"
                if last else "no checkpoint was saved before that; re-run with --fresh")
        lr = f" (now {learning_rate:g})" if learning_rate is not None else ""
        raise TrainingError(f"training diverged at step {self.step}: {self.tripped}. Lower the learning "
                            f"rate{lr} or raise warmup_ratio; {kept}")


class ProbeCallback(TrainerCallback):
    """Runs the knowledge probe before training, every ``every`` steps, and at the end.

    Each probe appends one JSON line to the log (default ``OUTPUT/probe_log.jsonl``)::

        {"step": 40, "epoch": 1.2, "seconds": 3.1, "metrics": {...},
         "gain": {"mc_accuracy": 0.25, ...}, "perplexity_ratio": 1.04, "delta": {...}}

    ``metrics`` is the probe's summary; ``delta`` every score minus its step-0 value; ``gain`` the
    deltas of :data:`KNOWLEDGE_METRICS` (knowledge gained); ``perplexity_ratio`` the general-text
    perplexity over its step-0 value (forgetting; None without general text in the probe config).
    A resumed run keeps the log's step-0 baseline and drops entries after the resumed checkpoint.

    Args:
        dataset_dir: the ``kg synth`` dataset the probe reads.
        probe_config: a :class:`~injection.train.probe.ProbeConfig` (default: the probe's defaults).
        every: steps between probes (0: only before and after training).
        tokenizer: the model's tokenizer (default: the Trainer's ``processing_class``).
        log_path: where the log goes.
    """

    def __init__(self, dataset_dir: str | Path, probe_config: Any = None, every: int = 0, *,
                 tokenizer: Any = None, log_path: str | Path | None = None) -> None:
        if every < 0:
            raise ConfigError(f"probe every must be 0 (off) or a number of steps, got {every}")
        self.dataset_dir = Path(dataset_dir)
        self.probe_config = probe_config
        self.every = every
        self.tokenizer = tokenizer
        self.log_path = Path(log_path) if log_path is not None else None
        self.history: list[dict[str, Any]] = []
        self._last_step: int | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       processing_class: Any = None, **kwargs: Any) -> None:
        self.tokenizer = self.tokenizer if self.tokenizer is not None else processing_class
        if self.tokenizer is None:
            raise ConfigError("ProbeCallback needs the tokenizer: pass tokenizer= or give the Trainer a "
                              "processing_class")
        if self.log_path is None:
            self.log_path = Path(args.output_dir) / PROBE_LOG
        self.history = []
        if state.global_step > 0 and self.log_path.is_file():
            kept = [e for e in _read_log(self.log_path) if e["step"] <= state.global_step]
            self.history = kept
        if not state.is_world_process_zero:
            return
        _write_log(self.log_path, self.history)
        if self.history:
            self._last_step = self.history[-1]["step"]
        else:
            self._probe(model, state)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.every and state.global_step % self.every == 0 and state.is_world_process_zero:
            self._probe(model, state)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self._last_step != state.global_step and state.is_world_process_zero:
            self._probe(model, state)

    def _probe(self, model: Any, state: Any) -> None:
        from injection.train.probe import METRICS, run_probe

        if model is None or not _weights_finite(model):
            return  # a diverged model: NaNGuard reports it, a probe would only log NaN
        start = time.perf_counter()
        report = run_probe(model, self.tokenizer, self.dataset_dir, self.probe_config)
        metrics = {k: float(v) for k, v in report.summary.items()}
        base = self.history[0]["metrics"] if self.history else metrics
        scores = {*METRICS, "general_ppl"}  # not the item counts
        delta = {k: v - base[k] for k, v in metrics.items() if k in base and k in scores}
        ppl, ppl0 = metrics.get("general_ppl"), base.get("general_ppl")
        ratio = ppl / ppl0 if ppl is not None and ppl0 and math.isfinite(ppl0) else None
        entry = {"step": state.global_step, "epoch": state.epoch,
                 "seconds": round(time.perf_counter() - start, 3), "metrics": metrics,
                 "gain": {k: delta[k] for k in KNOWLEDGE_METRICS if k in delta},
                 "perplexity_ratio": ratio, "delta": delta}
        self.history.append(entry)
        self._last_step = state.global_step
        assert self.log_path is not None
        with self.log_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _read_log(path: Path) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill: the probe is simply missing
        if isinstance(entry, dict) and isinstance(entry.get("step"), int):
            entries.append(entry)
    return entries


def _write_log(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")


class _Progress(TrainerCallback):
    """Reports ``("train", step, max_steps)`` to a progress function."""

    def __init__(self, update: ProgressFn) -> None:
        self.update = update

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.update("train", state.global_step, state.max_steps)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.update("train", state.global_step, state.max_steps)


def _start_fresh(out: Path) -> None:
    """Remove what earlier runs left in ``out`` (only the files a run writes)."""
    for path in _checkpoints(out):
        shutil.rmtree(path)
    for name in ("final", "adapter", "final.tmp", "adapter.tmp"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in (PROBE_LOG, SETTINGS_FILE):
        (out / name).unlink(missing_ok=True)


def _check_resumable(out: Path, settings: TrainSettings) -> None:
    path = out / SETTINGS_FILE
    if not path.is_file():
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return
    now = json.loads(settings.model_dump_json())
    changed = [k for k in _SHAPE if k in before and before[k] != now.get(k)]
    if changed:
        diff = "; ".join(f"{k}: {before[k]!r} then, {now.get(k)!r} now" for k in changed)
        raise ConfigError(f"{out} holds checkpoints of a run with other settings ({diff}); pass --fresh to "
                          "start over there, or choose another --out")


def _save_dir(target: Path, save: Callable[[Path], None]) -> None:
    """Save into a sibling folder and swap it in, so a killed save never leaves half a model."""
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    save(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)


def _plain_weights(model: Any, name: str, lora: bool) -> None:
    """Make a model loaded from a GGUF file trainable and savable like any other.

    transformers dequantizes most GGUF files into ordinary float weights, yet leaves the model marked
    as quantized, which makes ``Trainer`` refuse it and ``save_pretrained`` fail. Those marks are
    dropped here. Weights that really stay quantized (packed GGUF blocks, bitsandbytes...) can only
    train through LoRA adapters.

    Raises:
        ConfigError: really quantized weights and no LoRA.
    """
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is None:
        return
    method = str(getattr(getattr(quantizer, "quantization_config", None), "quant_method", "unknown"))
    packed = getattr(quantizer, "packed_modules", None)
    if "gguf" in method.lower() and not packed:
        quantizer.remove_quantization_config(model)
    elif not lora:
        raise ConfigError(f"model {name!r} has quantized weights ({method}), which only train through "
                          "adapters; pass --lora (or set lora), or give an unquantized model")


def _apply_lora(model: Any, settings: TrainSettings) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise ConfigError("LoRA needs peft: pip install 'kg[ml]' (or train without lora)") from None
    lora = settings.lora
    assert lora is not None
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=lora.target_modules, task_type="CAUSAL_LM")
    try:
        return get_peft_model(model, config)
    except ValueError as exc:  # peft: target modules not found in the model
        raise ConfigError(f"cannot add LoRA adapters ({exc}); set lora.target_modules to module names of "
                          "this model, or 'all-linear'") from None


def _save_final(model: Any, tokenizer: Any, out: Path, *, lora: bool) -> tuple[Path, Path | None]:
    """Save ``OUT/final`` (model + tokenizer; a LoRA adapter merged in) and ``OUT/adapter`` (LoRA only)."""
    final_dir, adapter_dir = out / "final", None
    if lora:
        adapter_dir = out / "adapter"
        _save_dir(adapter_dir, lambda p: model.save_pretrained(str(p)))
        # merged, so any loader reads final/ without peft; the adapter stays in adapter/
        model = model.merge_and_unload()

    def save(path: Path) -> None:
        model.save_pretrained(str(path))
        tokenizer.save_pretrained(str(path))

    _save_dir(final_dir, save)
    return final_dir, adapter_dir


def _warmup(arguments: type, ratio: float) -> dict[str, float]:
    """The warmup share as TrainingArguments takes it: ``warmup_ratio`` up to transformers 4, a float
    ``warmup_steps`` below 1 from 5 on (where ``warmup_ratio`` is gone)."""
    import inspect

    if "warmup_ratio" in inspect.signature(arguments.__init__).parameters:
        return {"warmup_ratio": ratio}
    return {"warmup_steps": float(ratio)}


def train(settings: TrainSettings, *, progress: bool | ProgressFn = True, callbacks: Sequence[Any] = (),
          fresh: bool = False) -> TrainReport:
    """Continue training a causal LM on a ``kg synth`` dataset.

    Args:
        settings: the run (model, data, output folder, recipe, probe, LoRA).
        progress: True: transformers' progress bar; False: silent; a function: called with
            ``("train", step, max_steps)`` after every step (the CLI's rich bar).
        callbacks: more ``TrainerCallback`` objects; they run before the probe and the NaN guard.
        fresh: start over: delete the checkpoints, probe log and final model of an earlier run in
            ``settings.output_dir`` instead of resuming from its newest checkpoint.

    Returns:
        The :class:`TrainReport`.

    Raises:
        ConfigError: bad settings, a model or dataset that cannot be loaded, missing ml packages, or an
            output folder holding a run with other settings (without ``fresh``).
        InputError: unreadable dataset or replay files.
        TrainingError: the loss became NaN/inf; the last good checkpoint is kept.
    """
    try:
        import torch
        from transformers import Trainer, TrainingArguments, default_data_collator, set_seed
        from transformers.trainer_callback import PrinterCallback, ProgressCallback
        from transformers.utils import logging as hf_logging
    except ImportError:
        raise ConfigError("training needs the ml extra: pip install 'kg[ml]'") from None
    from injection.train.data import build_train_dataset
    from injection.train.models import load_causal_lm

    start = time.perf_counter()
    if settings.data is None:
        raise ConfigError("no dataset to train on: pass --data DS (a kg synth output folder) or set data")
    cuda = torch.cuda.is_available()
    precision = resolve_precision(settings.precision, cuda)
    probe_config = settings.probe.probe_config(settings.seed) if settings.probe_every else None
    out = Path(settings.output_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output {out} is a file; give a folder for the run")
    if fresh:
        _start_fresh(out)
    resume = latest_checkpoint(out)
    if resume is not None:
        _check_resumable(out, settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / SETTINGS_FILE).write_text(settings.model_dump_json(indent=2) + "\n", encoding="utf-8")

    set_seed(settings.seed)  # LoRA initialisation and dropout
    model, tokenizer = load_causal_lm(settings.model, device="cuda" if cuda else "cpu")
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit and settings.seq_len > limit:
        raise ConfigError(f"seq_len {settings.seq_len} exceeds the model's context of {limit} tokens; "
                          f"set seq_len to {limit} or less")
    _plain_weights(model, str(settings.model or "smollm2"), settings.lora is not None)
    dataset = build_train_dataset(settings, tokenizer)
    if settings.lora is not None:
        model = _apply_lora(model, settings)
    model.train()
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())

    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        learning_rate=settings.learning_rate,
        lr_scheduler_type=settings.lr_scheduler,
        **_warmup(TrainingArguments, settings.warmup_ratio),
        num_train_epochs=settings.epochs, max_steps=settings.max_steps or -1,
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm, logging_steps=settings.logging_steps, save_strategy="steps",
        save_steps=settings.save_steps, save_total_limit=settings.save_total_limit, seed=settings.seed,
        data_seed=settings.seed, bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=not cuda,
        report_to=[], disable_tqdm=progress is not True, remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding", logging_nan_inf_filter=False, dataloader_num_workers=0)
    guard = NaNGuard()
    extra: list[Any] = list(callbacks)
    if probe_config is not None:
        extra.append(ProbeCallback(settings.data, probe_config, every=settings.probe_every,
                                   tokenizer=tokenizer))
    if callable(progress):
        extra.append(_Progress(progress))
    extra.append(guard)  # last: it must see what every other callback did to the step
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=default_data_collator,
                      processing_class=tokenizer, callbacks=extra)
    if progress is not True:
        trainer.remove_callback(PrinterCallback)  # it prints every log line to stdout
        trainer.remove_callback(ProgressCallback)
    bars = hf_logging.is_progress_bar_enabled()
    if progress is not True:
        hf_logging.disable_progress_bar()  # transformers' own bars for loading and saving weights
    try:
        output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        guard.raise_if_tripped(settings.learning_rate)
        final_dir, adapter_dir = _save_final(trainer.model, tokenizer, out, lora=settings.lora is not None)
    finally:
        if bars:
            hf_logging.enable_progress_bar()

    state = trainer.state
    losses = [(int(e["step"]), float(e["loss"])) for e in state.log_history if "loss" in e and "step" in e]
    lrs = [(int(e["step"]), float(e["learning_rate"])) for e in state.log_history
           if "learning_rate" in e and "step" in e]
    probe_log = out / PROBE_LOG
    history = _read_log(probe_log) if probe_config is not None and probe_log.is_file() else []
    return TrainReport(
        steps=state.global_step, final_loss=losses[-1][1] if losses else None,
        train_loss=float(output.training_loss) if output.training_loss is not None else None,
        seconds=time.perf_counter() - start, tokens_seen=int(state.num_input_tokens_seen),
        probe_history=history, loss_history=losses, lr_history=lrs, output_dir=out, final_dir=final_dir,
        adapter_dir=adapter_dir, checkpoints=_checkpoints(out), resumed_from=resume, precision=precision,
        trainable_parameters=trainable,
        parameters=total, data=dataset.stats)


__all__ = ["KNOWLEDGE_METRICS", "PROBE_LOG", "NaNGuard", "ProbeCallback", "TrainReport", "latest_checkpoint",
           "resolve_precision", "train"]
