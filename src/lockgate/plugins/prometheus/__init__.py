"""prometheus: Kong's metrics, with Kong's names, labels and buckets, summed
over every proxy worker of a node (see :mod:`.metrics` and :mod:`.exposition`)."""
