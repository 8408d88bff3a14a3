"""What the benchmarks under bench/ share (this folder is not itself a benchmark: `make bench` runs bench/*.py)."""
