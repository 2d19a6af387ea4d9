"""Training data: BVH mocap (``bvh``, ``mocap``) and Human3.6M in VideoPose3D's format (``h36m``)."""
