"""RePOSE bundled trainer: ``python -m train ...`` (data in ``train.data``, synthesis in ``train.synth``)."""
