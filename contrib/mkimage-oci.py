#!/usr/bin/env python3
"""Makes an OCI image layout from root filesystem tars, one layer each, bottom first.

    contrib/mkimage-oci.py OUT_DIR TAG LAYER.tar [LAYER.tar ...] [--cmd sh] [--platform linux/amd64]

The layout can be pushed to a registry without Docker, e.g. by skopeo:

    skopeo copy --dest-tls-verify=false oci:OUT_DIR:TAG docker://127.0.0.1:5000/busybox:TAG

Layers are gzipped (mtime 0, so the same tar always gives the same digest).
"""
import gzip
import hashlib
import json
import os
import sys


def blob(out, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", digest)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return "sha256:" + digest, len(data)


def main(argv):
    cmd = ["sh"]
    platform = "linux/amd64"
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--cmd":
            cmd = argv[i + 1].split()
            i += 2
        elif argv[i] == "--platform":
            platform = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) < 3:
        sys.exit(__doc__)
    out, tag, tars = args[0], args[1], args[2:]
    os_name, arch = platform.split("/")[:2]
    os.makedirs(os.path.join(out, "blobs", "sha256"), exist_ok=True)
    layers, diff_ids = [], []
    for tar in tars:
        with open(tar, "rb") as f:
            raw = f.read()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        digest, size = blob(out, gzip.compress(raw, mtime=0))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
    config = {
        "architecture": arch,
        "os": os_name,
        "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": cmd, "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "mkimage-oci.py " + os.path.basename(t)} for t in tars],
    }
    cdigest, csize = blob(out, json.dumps(config, separators=(",", ":")).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdigest, "size": csize},
        "layers": layers,
    }
    mdigest, msize = blob(out, json.dumps(manifest, separators=(",", ":")).encode())
    index_path = os.path.join(out, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdigest, "size": msize,
        "annotations": {"org.opencontainers.image.ref.name": tag},
    })
    with open(index_path, "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(mdigest)


if __name__ == "__main__":
    main(sys.argv[1:])
