"""Fine-tuning tasks: data readers, features and decoders for each task."""
