"""Part V, from model to product: task pipelines on a fine-tuned model (transformers' pipeline
API and output format), distillation into a smaller student, export and int8 quantization."""
