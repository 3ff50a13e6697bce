"""A dataset that tokenizes in DataLoader workers (a module light enough for spawned workers:
it imports only bertedu, not the reference library)."""

from torch.utils.data import Dataset


class Encoded(Dataset):
    """Item i: ``input_ids`` of ``texts[i]`` from every tokenizer, padded to 16."""

    def __init__(self, tokenizers, texts):
        self.tokenizers, self.texts = tokenizers, texts

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        return [
            tok(self.texts[i], padding="max_length", truncation=True, max_length=16,
                return_tensors="pt")["input_ids"][0]
            for tok in self.tokenizers
        ]
