"""Training data: mocap libraries (BVH ``bvh``, DeepMimic ``deepmimic``, by skeleton tables:
``mocap``, ``skeleton_table``), Human3.6M in VideoPose3D's format (``h36m``), and the checks
every loaded clip passes (``plausible``)."""
