"""Language detection and the central foreign-language desk's queues and hand-back."""
