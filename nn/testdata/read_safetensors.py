"""A minimal safetensors reader in pure Python (struct and json only), used by
checkpoint_test.go to check that our files follow the format the Python
safetensors library reads. Prints {"metadata": ..., "tensors": {name: {"dtype",
"shape", "values"}}} as JSON."""
import json
import struct
import sys

with open(sys.argv[1], "rb") as f:
    buf = f.read()
(n,) = struct.unpack("<Q", buf[:8])
assert n % 8 == 0, "header length %d not a multiple of 8" % n
header = json.loads(buf[8 : 8 + n].decode("utf-8"))
data = buf[8 + n :]
meta = header.pop("__metadata__", {})
assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
out = {}
end = 0
for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
    begin, stop = info["data_offsets"]
    assert begin == end, "tensor %s not contiguous" % name
    end = stop
    assert info["dtype"] == "F32"
    count = 1
    for d in info["shape"]:
        count *= d
    assert stop - begin == 4 * count
    values = struct.unpack("<%df" % count, data[begin:stop])
    out[name] = {"dtype": info["dtype"], "shape": info["shape"], "values": [repr(v) for v in values]}
assert end == len(data), "data not fully covered"
names_by_offset = [k for k, _ in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"])]
assert names_by_offset == sorted(names_by_offset), "tensors not in name order"
json.dump({"metadata": meta, "tensors": out}, sys.stdout)
