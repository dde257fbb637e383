"""Count a network exactly, with no training and no torch: `sqzdse count` as a library call."""

from sqzdse.arch import count_macs, count_params, preset, resolve

# SqueezeNet v1.1 as published (1000 classes, 224x224), then a variant for 10 classes at 32x32.
v11 = preset("v1.1")
print(f"v1.1: {count_params(v11):,} parameters, {count_macs(v11) / 1e9:.3f} G MACs")

small = preset("v1.1", pct_3x3=0.25, bypass="simple", num_classes=10, resolution=32)
layers = resolve(small)
print(f"variant: {count_params(small):,} parameters")
print(f"int8 peak SRAM {layers.peak_sram_bytes:,} bytes, flash {layers.flash_bytes:,} bytes")
