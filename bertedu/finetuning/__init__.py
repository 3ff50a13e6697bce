"""Part IV, fine-tuning: pretrained BERT trained on real tasks with the shared loop of
:mod:`bertedu.training` (classification, token classification, question answering, multiple
choice)."""
