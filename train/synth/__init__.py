"""Training batches from mocap: virtual cameras (``cameras``), detector-like occlusion
(``occlusion``) and the batch sampler / fixed validation sets (``sampler``)."""
