"""Bug injection, corpus, dataset, training and evaluation."""
