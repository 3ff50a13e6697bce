"""BertConfig: every hyper-parameter of a BERT model in one object.

A BERT model is fully described by a handful of numbers: the vocabulary size ``V``, the width
``H = hidden_size``, the depth ``L = num_hidden_layers``, the number of heads ``A`` (each head has
width ``d = H / A``), the feed-forward width (``intermediate_size``, ``4H`` in the paper), the
longest sequence the position table covers, and the dropout rates. Every module of bertedu takes
this one object.

The field names and defaults are those of Hugging Face ``transformers``' ``BertConfig`` and the
JSON file is its ``config.json``, so a configuration moves between the two libraries without loss:
keys that bertedu does not use are kept and written back unchanged. Overrides (``preset``,
``from_dict``, ``from_pretrained``, ``copy``) must name a field, a generic transformers key or a key
of the file: a misspelled ``num_lables=3`` is refused with the closest valid name, instead of being
kept, ignored and saved. Values must be ones JSON can hold.

References:
    Devlin et al. (2018), BERT, section 3 (model sizes BERT-BASE L=12 H=768 A=12 and BERT-LARGE
    L=24 H=1024 A=16). Turc et al. (2019), Well-Read Students Learn Better (the small sizes:
    tiny, mini, small, medium).
"""

from __future__ import annotations

import copy
import difflib
import inspect
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .hub import HUB_OPTIONS, hub_file, local_directory

CONFIG_NAME = "config.json"

HIDDEN_ACTS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh")
POSITION_EMBEDDING_TYPES = ("absolute", "relative_key", "relative_key_query")
ATTN_IMPLEMENTATIONS = ("eager", "sdpa")
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")

# name -> (num_hidden_layers, hidden_size, num_attention_heads, intermediate_size)
PRESETS: dict[str, tuple[int, int, int, int]] = {
    "tiny": (2, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
    "small": (4, 512, 8, 2048),
    "medium": (8, 512, 8, 2048),
    "base": (12, 768, 12, 3072),
    "large": (24, 1024, 16, 4096),
}

# Fields that transformers' PretrainedConfig writes only when they differ from these defaults.
_COMMON_DEFAULTS: dict[str, Any] = {
    "is_decoder": False,
    "add_cross_attention": False,
    "problem_type": None,
    "tie_word_embeddings": True,
    "output_attentions": False,
    "output_hidden_states": False,
    "return_dict": True,
    "architectures": None,
}

# BERT's own fields: always written, like transformers does.
_BERT_FIELDS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
    "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
    "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
    "pad_token_id", "position_embedding_type", "use_cache", "classifier_dropout",
)


# The generic keys of transformers' ``PretrainedConfig`` (generation settings, token ids, ...):
# bertedu does not use them, but they are valid names to override, as there.
_GENERIC_KEYS = frozenset((
    "_name_or_path", "bad_words_ids", "begin_suppress_tokens", "bos_token_id",
    "chunk_size_feed_forward", "cross_attention_hidden_size", "decoder_start_token_id",
    "diversity_penalty", "do_sample", "dtype", "early_stopping", "encoder_no_repeat_ngram_size",
    "eos_token_id", "exponential_decay_length_penalty", "finetuning_task", "forced_bos_token_id",
    "forced_eos_token_id", "is_encoder_decoder", "length_penalty", "max_length", "min_length",
    "no_repeat_ngram_size", "num_beam_groups", "num_beams", "num_return_sequences",
    "output_scores", "prefix", "pruned_heads", "remove_invalid_values", "repetition_penalty",
    "return_dict_in_generate", "sep_token_id", "suppress_tokens", "task_specific_params",
    "temperature", "tf_legacy_loss", "tie_encoder_decoder", "tokenizer_class", "top_k", "top_p",
    "torch_dtype", "torchscript", "transformers_version", "typical_p", "use_bfloat16",
    "model_type", "_attn_implementation", "gradient_checkpointing",
))


def _default_id2label(num_labels: int) -> dict[int, str]:
    return {i: f"LABEL_{i}" for i in range(num_labels)}


def check_keywords(
    given: Iterable[str], valid: Iterable[str], what: str = "BertConfig field"
) -> None:
    """Raise ``TypeError`` for the first name of ``given`` not in ``valid``, with the closest
    valid name (a misspelled key would otherwise be kept, ignored, and saved)."""
    valid = set(valid)
    for name in given:
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"unexpected keyword argument {name!r}: it is not a {what}{hint}")


def valid_override_names(config_dict: dict[str, Any] | None = None) -> set[str]:
    """Names that may override a config: BERT's fields, transformers' generic keys, and the keys
    already in ``config_dict`` (an unknown key of a config.json may be given a new value)."""
    params = inspect.signature(BertConfig.__init__).parameters
    names = {n for n, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD} - {"self"}
    return names | _GENERIC_KEYS | set(config_dict or ())


def _json_value(key: str, value: Any) -> Any:
    """``value`` if JSON can hold it (a torch dtype becomes its name, as transformers writes it),
    else ``TypeError`` naming ``key``: nothing that cannot be saved is accepted."""
    if key in ("dtype", "torch_dtype") and value is not None and not isinstance(value, str):
        value = str(value).removeprefix("torch.")  # torch.float16 -> "float16"
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"config key {key!r} has a value that JSON cannot hold: {err}") from err
    return value


class BertConfig:
    """Hyper-parameters of a BERT model (transformers' field names and defaults).

    Unknown keyword arguments (for example keys of a ``config.json`` written by another tool) are
    kept in ``self.extra`` and written back by :meth:`to_dict`.

    Args:
        vocab_size: number of token ids ``V``.
        hidden_size: model width ``H``.
        num_hidden_layers: number of encoder layers ``L``.
        num_attention_heads: heads ``A`` per layer; must divide ``hidden_size``.
        intermediate_size: width of the feed-forward layer (``4H`` in the paper).
        hidden_act: feed-forward activation, one of ``HIDDEN_ACTS``.
        hidden_dropout_prob: dropout on embeddings and sublayer outputs.
        attention_probs_dropout_prob: dropout on the attention probabilities.
        max_position_embeddings: longest sequence (rows of the position table).
        type_vocab_size: number of segment (token type) ids.
        initializer_range: standard deviation of the normal weight initialisation.
        layer_norm_eps: epsilon of every LayerNorm.
        pad_token_id: id of ``[PAD]`` (its word embedding row starts at zero).
        position_embedding_type: ``absolute``, ``relative_key`` or ``relative_key_query``.
        use_cache: decoders return keys/values for incremental decoding by default.
        classifier_dropout: dropout of the task heads; ``None`` uses ``hidden_dropout_prob``.
        is_decoder: causal self-attention (a left-to-right language model).
        add_cross_attention: add cross-attention to ``encoder_hidden_states`` (needs is_decoder).
        num_labels: number of classes of the classification heads (default 2).
        id2label / label2id: class names; ``num_labels`` follows ``id2label`` when given.
        problem_type: ``regression``, ``single_label_classification`` or
            ``multi_label_classification``; ``None`` lets the sequence classifier infer it.
        attn_implementation: ``sdpa`` (fast, default) or ``eager`` (the teaching path). A runtime
            choice, not written to ``config.json`` (like transformers).
    """

    model_type = "bert"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int | None = 0,
        position_embedding_type: str = "absolute",
        use_cache: bool = True,
        classifier_dropout: float | None = None,
        is_decoder: bool = False,
        add_cross_attention: bool = False,
        num_labels: int | None = None,
        id2label: dict | None = None,
        label2id: dict | None = None,
        problem_type: str | None = None,
        attn_implementation: str | None = None,
        tie_word_embeddings: bool = True,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = True,
        architectures: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.pad_token_id = pad_token_id
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout
        self.is_decoder = is_decoder
        self.add_cross_attention = add_cross_attention
        self.problem_type = problem_type
        self.tie_word_embeddings = tie_word_embeddings
        self.output_attentions = output_attentions
        self.output_hidden_states = output_hidden_states
        self.return_dict = return_dict
        self.architectures = architectures
        kwargs.pop("model_type", None)
        # transformers accepts the private spelling too
        private_impl = kwargs.pop("_attn_implementation", None)
        self.attn_implementation = attn_implementation or private_impl or "sdpa"
        self._set_labels(num_labels, id2label, label2id)
        # unknown keys, written back unchanged
        self.extra: dict[str, Any] = {k: _json_value(k, v) for k, v in kwargs.items()}
        self.validate()

    # ----------------------------------------------------------------------------- labels
    def _set_labels(self, num_labels: int | None, id2label: dict | None, label2id: dict | None):
        if id2label is not None:
            id2label = {int(k): v for k, v in id2label.items()}  # JSON keys are strings
            if num_labels is not None and num_labels != len(id2label):
                raise ValueError(
                    f"num_labels={num_labels} does not match id2label, which has "
                    f"{len(id2label)} entries"
                )
        else:
            n = 2 if num_labels is None else num_labels
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise ValueError(f"num_labels must be a positive integer, got {n!r}")
            id2label = _default_id2label(n)
        if label2id is None:
            label2id = {v: k for k, v in id2label.items()}
        else:
            label2id = {k: int(v) for k, v in label2id.items()}
            if len(label2id) != len(id2label):
                raise ValueError(
                    f"label2id has {len(label2id)} entries but id2label has {len(id2label)}"
                )
        self.id2label: dict[int, str] = id2label
        self.label2id: dict[str, int] = label2id

    @property
    def num_labels(self) -> int:
        """Number of classes; setting it to a new value resets id2label/label2id."""
        return len(self.id2label)

    @num_labels.setter
    def num_labels(self, value: int) -> None:
        if value != self.num_labels:
            self._set_labels(value, None, None)

    @property
    def use_return_dict(self) -> bool:
        """Whether models return output dataclasses (transformers' spelling)."""
        return self.return_dict

    @property
    def _attn_implementation(self) -> str:
        """transformers' private spelling of :attr:`attn_implementation`."""
        return self.attn_implementation

    @property
    def head_size(self) -> int:
        """Width ``d = H / A`` of one attention head."""
        return self.hidden_size // self.num_attention_heads

    # ----------------------------------------------------------------------------- checks
    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid field."""
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) is not divisible by num_attention_heads "
                f"({self.num_attention_heads}): every head must have the same width"
            )
        if self.hidden_act not in HIDDEN_ACTS:
            raise ValueError(
                f"unknown hidden_act {self.hidden_act!r}; expected one of {HIDDEN_ACTS}"
            )
        if self.position_embedding_type not in POSITION_EMBEDDING_TYPES:
            raise ValueError(
                f"unknown position_embedding_type {self.position_embedding_type!r}; expected one "
                f"of {POSITION_EMBEDDING_TYPES}"
            )
        if self.attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"unknown attn_implementation {self.attn_implementation!r}; expected one of "
                f"{ATTN_IMPLEMENTATIONS}"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            p = getattr(self, name)
            if p is None and name == "classifier_dropout":
                continue
            if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1), got {p!r}")
        if not isinstance(self.layer_norm_eps, (int, float)) or self.layer_norm_eps <= 0:
            raise ValueError(f"layer_norm_eps must be positive, got {self.layer_norm_eps!r}")
        if not isinstance(self.initializer_range, (int, float)) or self.initializer_range < 0:
            raise ValueError(
                f"initializer_range must be non-negative, got {self.initializer_range!r}"
            )
        if self.pad_token_id is not None and not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(
                f"pad_token_id ({self.pad_token_id}) must be in [0, vocab_size={self.vocab_size})"
            )
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"unknown problem_type {self.problem_type!r}; expected None or one of "
                f"{PROBLEM_TYPES}"
            )
        if self.add_cross_attention and not self.is_decoder:
            raise ValueError("add_cross_attention=True needs is_decoder=True (a decoder layer)")

    # ----------------------------------------------------------------------------- presets
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> BertConfig:
        """A named model size (``tiny``, ``mini``, ``small``, ``medium``, ``base``, ``large``).

        Keyword arguments override any field, e.g. ``BertConfig.preset("tiny", vocab_size=1000)``.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {tuple(PRESETS)}")
        check_keywords(overrides, valid_override_names())
        layers, hidden, heads, inter = PRESETS[name]
        kwargs: dict[str, Any] = {
            "num_hidden_layers": layers,
            "hidden_size": hidden,
            "num_attention_heads": heads,
            "intermediate_size": inter,
        }
        kwargs.update(overrides)
        return cls(**kwargs)

    # ----------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The ``config.json`` content: BERT's fields, changed common fields and unknown keys.

        Like transformers, common fields (``is_decoder``, ``id2label``, ...) appear only when they
        differ from their defaults, and ``attn_implementation`` is not written.
        """
        out: dict[str, Any] = {name: getattr(self, name) for name in _BERT_FIELDS}
        out["model_type"] = self.model_type
        for name, default in _COMMON_DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                out[name] = copy.deepcopy(value)
        if self.id2label != _default_id2label(2) or self.label2id != {"LABEL_0": 0, "LABEL_1": 1}:
            out["id2label"] = {str(k): v for k, v in self.id2label.items()}
            out["label2id"] = dict(self.label2id)
        out.update(copy.deepcopy(self.extra))
        return dict(sorted(out.items()))

    def to_json_string(self) -> str:
        """``to_dict()`` as indented JSON with sorted keys (the layout transformers writes)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, path: str | os.PathLike) -> None:
        """Write :meth:`to_json_string` to ``path``."""
        Path(path).write_text(self.to_json_string(), encoding="utf-8")

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **overrides: Any) -> BertConfig:
        """Build a config from a ``config.json`` dictionary; ``overrides`` replace its values.

        Raises ``ValueError`` when the dictionary declares another ``model_type`` and
        ``TypeError`` for an override that is neither a config field nor a key of the dictionary.
        """
        if not isinstance(config_dict, dict):
            raise TypeError(f"config must be a dict, got {type(config_dict).__name__}")
        model_type = config_dict.get("model_type", cls.model_type)
        if model_type != cls.model_type:
            raise ValueError(
                f"this is not a BERT config: model_type is {model_type!r}, expected 'bert'"
            )
        check_keywords(overrides, valid_override_names(config_dict))
        kwargs = copy.deepcopy(config_dict)
        kwargs.update(overrides)
        if "num_labels" in overrides and "id2label" not in overrides:
            kwargs.pop("id2label", None)
            kwargs.pop("label2id", None)
        return cls(**kwargs)

    @classmethod
    def from_json_file(cls, path: str | os.PathLike, **overrides: Any) -> BertConfig:
        """Read a ``config.json`` file."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON: {err}") from err
        except UnicodeDecodeError as err:
            raise ValueError(f"{path} is not a UTF-8 text file: {err}") from err
        return cls.from_dict(data, **overrides)

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        """Write ``config.json`` into ``save_directory`` (created if needed); return its path."""
        directory = Path(save_directory)
        if directory.is_file():
            raise ValueError(f"{directory} is a file; save_pretrained expects a directory")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / CONFIG_NAME
        self.to_json_file(path)
        return path

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, subfolder: str = "", **overrides: Any
    ) -> BertConfig:
        """Load from a directory holding ``config.json`` (or its ``subfolder``), a json file, or
        a Hub model id. Hub options (``revision``, ``cache_dir``, ``token``, ...) are passed on
        to the download; other keywords override config values."""
        hub_options = {k: overrides.pop(k) for k in HUB_OPTIONS if k in overrides}
        path = Path(name_or_path)
        if not subfolder and path.is_file():
            return cls.from_json_file(path, **overrides)
        directory = local_directory(name_or_path, subfolder)
        if directory is None:
            path = hub_file(str(name_or_path), CONFIG_NAME, subfolder, **hub_options)
        else:
            path = directory / CONFIG_NAME
            if not path.is_file():
                raise FileNotFoundError(f"no {CONFIG_NAME} in directory {directory}")
        return cls.from_json_file(path, **overrides)

    # ----------------------------------------------------------------------------- misc
    def __getattr__(self, name: str) -> Any:
        # unknown config.json keys read as attributes, like transformers
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def copy(self, **overrides: Any) -> BertConfig:
        """A copy with some fields replaced (the runtime attn_implementation is kept)."""
        overrides.setdefault("attn_implementation", self.attn_implementation)
        return type(self).from_dict(self.to_dict(), **overrides)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BertConfig):
            return NotImplemented
        return (self.to_dict() == other.to_dict()
                and self.attn_implementation == other.attn_implementation)

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string()}"

