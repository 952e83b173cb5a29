# The two set-up commands (see README): `make train` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS ?= 2
EPOCHS ?= 6
FASHION_EPOCHS ?= 14
PRETRAIN_VARIANTS ?= basic:conv

PREFIX ?= /usr/local

.PHONY: all build deps train fashion fashion-long pretrain test test-asan fuzz bench experiments install clean

all: build

build:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: one template bank on three tasks (Fashion-MNIST, OpenCV's
# handwritten digits, scikit-learn's optical digits), then the per-task
# mixtures as a table and a heatmap (templar.mixtures.png / .svg).
train: build
	@scripts/deps.sh train
	$(BUILD)/templar train --tasks fashion,handwritten,optical --width 32 --layers 6 --templates 4 \
		--epochs $(EPOCHS) --out templar.safetensors --log templar.jsonl --force
	$(BUILD)/templar inspect templar.safetensors

# One task: the Fashion-MNIST benchmark of docs/PERFORMANCE.md.
fashion: build
	@scripts/deps.sh train
	$(BUILD)/templar train --width 32 --layers 6 --epochs $(FASHION_EPOCHS) --out fashion.safetensors --force \
		--log fashion.jsonl

# The longer Fashion-MNIST run of docs/PERFORMANCE.md (94.9 %, about 1 h 45 min
# on 2 cores): a staged bank at full resolution with random crops.
fashion-long: build
	@scripts/deps.sh train
	$(BUILD)/templar train --widths 32,64,128 --layers 3 --templates 3 --stem-stride 1 \
		--crop-pad 2 --epochs 30 --out fashion-long.safetensors --log fashion-long.jsonl --force

# Unit, gradient and CLI tests: a release build, then again under ASan+UBSan.
# The test set first: the build decides at configure whether it has MPI.
test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTEMPLAR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

# Every reader under libFuzzer, ASan and UBSan for FUZZ_SECONDS each (a clang
# build in FUZZ_BUILD; inputs found are kept in FUZZ_BUILD/corpus): fuzz/README.md.
fuzz:
	@scripts/deps.sh fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_BUILD=$(FUZZ_BUILD) JOBS=$(JOBS) fuzz/run.sh

bench: build
	@scripts/deps.sh bench
	bench/compare.sh

# The many-task bank of docs/RESULTS.md, Table 6: ten scripts of `templar data
# scripts`, fashion, handwritten and optical in one bank of basic blocks
# mixed per conv (runs/remix/bank_basic_conv.safetensors, 12,000 steps); PRETRAIN_VARIANTS
# adds the other banks of the table.
pretrain: build
	@scripts/deps.sh train
	STAGE=pretrain VARIANTS="$(PRETRAIN_VARIANTS)" TEMPLAR=$(BUILD)/templar experiments/remix.sh runs/remix

# Tables 1 and 2 of docs/RESULTS.md (about an hour on 2 cores).
experiments: build
	@scripts/deps.sh train
	experiments/multitask.sh

# Header, static and shared library, pkg-config file and the tool under PREFIX.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
