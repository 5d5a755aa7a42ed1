"""The networks: VGG-16 trunks and their weights, pretraining, fine-tuning."""
