"""Device names as users write them (`auto`, `cpu`, `cuda`, `cuda:N`), checked without torch.

Whether the device exists is `sqzdse.train.resolve_device`'s to say; this module only knows the
spelling, so a search space, a trainer setting and a flag are all checked the same way.
"""

from __future__ import annotations

import re

__all__ = ["DEVICES", "is_device_spec"]

DEVICES = "auto, cpu, cuda or cuda:N"  # for help texts and error messages
_SPEC = re.compile(r"^(auto|cpu|cuda|cuda:\d+)$")


def is_device_spec(spec: object) -> bool:
    """Whether `spec` is written as a device: auto, cpu, cuda or cuda:N (N a GPU index)."""
    return isinstance(spec, str) and _SPEC.match(spec) is not None
