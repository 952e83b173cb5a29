# The two set-up commands (see README): `make train` and `make test`.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
EPOCHS ?= 15

.PHONY: all build deps train test test-asan bench clean

all: build

build:
	@scripts/deps.sh build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: train the default template-bank ResNet on Fashion-MNIST.
train: build
	@scripts/deps.sh train
	$(BUILD)/templar train --width 32 --epochs $(EPOCHS) --out fashion.safetensors --log fashion.jsonl

# Unit, gradient and CLI tests: a release build, then again under ASan+UBSan.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-asan

test-asan:
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTEMPLAR_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

bench: build
	@scripts/deps.sh bench
	bench/compare.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
