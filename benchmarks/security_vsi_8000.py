"""Peak memory of the VSI on an 8000x8000 pair (#14): bounded, with progress on stderr.

The camera image tiled to 8000x8000 and a block_shuffle (0.5) encryption, scored with the
default configuration in this process; prints wall/CPU seconds and the peak RSS (``ru_maxrss``).

Usage: ``OMP_NUM_THREADS=1 python benchmarks/security_vsi_8000.py``
"""
import json, resource, sys, time
import numpy as np, skimage.data
h = w = 8000
cam = skimage.data.camera() / 255.0
plain = np.tile(cam, (16, 16))[:h, :w]
from nlvision.security.encryption import encrypt
from nlvision.security.vsi import vsi
enc = encrypt(plain, "block_shuffle", 0.5, key=1)
print("built, rss MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, flush=True)
t, c = time.perf_counter(), time.process_time()
r = vsi(plain, enc, progress=True)
print(json.dumps({"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "vsi": r.vsi, "block": r.block,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
