"""Feature extraction on MiniLM against transformers' pipeline, and sentence embeddings against
the all-MiniLM-L6-v2 model card's recipe (mean pooling over the mask, then L2 normalisation)
computed with transformers' BertModel on a padded batch."""

import pytest
import torch
import transformers

import bertedu
from tests.pipelines.conftest import MINILM
from tests.pipelines.parity import assert_same, both

SENTENCES = ["A man is playing a guitar.", "Someone plays an instrument on stage tonight!",
             "The weather in Zürich is cold.", "Short."]


def model_card_embeddings(sentences):
    """The recipe of the all-MiniLM-L6-v2 model card, with transformers."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(MINILM)
    model = transformers.BertModel.from_pretrained(MINILM).eval()
    encoded = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
    with torch.no_grad():
        tokens = model(**encoded).last_hidden_state  # (B, T, d)
    mask = encoded["attention_mask"].unsqueeze(-1).float()  # (B, T, 1)
    mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, d)
    return torch.nn.functional.normalize(mean, p=2, dim=1)


def test_token_features_match_transformers():
    ours, theirs = both("feature-extraction", MINILM)
    assert_same(ours(SENTENCES[0]), theirs(SENTENCES[0]))
    assert_same(ours(SENTENCES[:2]), theirs(SENTENCES[:2]))
    tensor = ours(SENTENCES[0], return_tensors=True)
    assert tensor.shape == (1, 9, 384)  # [CLS] a man is playing a guitar . [SEP]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_sentence_embeddings_follow_the_model_card(batch_size):
    pipe = bertedu.pipeline("sentence-embeddings", model=MINILM, batch_size=batch_size)
    ours = torch.stack(pipe(SENTENCES, return_tensors=True))  # (B, d)
    torch.testing.assert_close(ours, model_card_embeddings(SENTENCES), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.norm(dim=1), torch.ones(len(SENTENCES)))
    similarity = ours @ ours.T  # cosine similarities: the paraphrase pair is the closest
    assert similarity[0, 1] > similarity[0, 2]


def test_sentence_embedding_of_one_text_is_a_list_of_floats():
    pipe = bertedu.pipeline("sentence-embeddings", model=MINILM)
    vector = pipe(SENTENCES[0])
    assert isinstance(vector, list) and len(vector) == 384 and isinstance(vector[0], float)


def test_task_model_is_refused_for_features(tmp_path):
    model = bertedu.BertForSequenceClassification(bertedu.BertConfig(
        vocab_size=30522, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=8))
    with pytest.raises(TypeError, match="needs a BertModel"):
        bertedu.pipeline("feature-extraction", model=model, tokenizer=MINILM)


def test_mean_pooling_ignores_padding_and_names_a_wrong_shape():
    from bertedu.pipelines.feature_extraction import mean_pooling

    hidden = torch.arange(24, dtype=torch.float32).view(2, 3, 4)  # (B, T, d)
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    pooled = mean_pooling(hidden, mask)
    torch.testing.assert_close(pooled, torch.stack([hidden[0, :2].mean(0), hidden[1, 0]]))
    assert torch.equal(mean_pooling(hidden, torch.zeros(2, 3)), torch.zeros(2, 4))  # no NaN
    with pytest.raises(ValueError, match=r"\(B, T\) mask; got \(2, 3, 4\) and \(2, 4\)"):
        mean_pooling(hidden, torch.ones(2, 4))
