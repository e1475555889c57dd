"""Title/description splits of topic-wiki.txt, checked by hand against the file.

Most rows are hard cases: acronym titles echoed by the description, titles
ending in ``)``, ``?``, ``++`` or Greek letters, camel-case words inside titles,
descriptions that start with an author name or a verb.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ingest.wiki import FALLBACK_RULES, split_title

SPLITS = [
    ("BM25", "BM25 is a sparse retrieval"),
    ("xLSTM", "xLSTM is a family of modern LSTM"),
    ("t-SNE (t-Distributed Stochastic Neighbor Embedding)", "t-SNE embeds high-dimensional"),
    ("β-VAE & Disentanglement", "β-VAE replaces the ELBO"),
    ("Kernel PCA", "Principal component analysis in the implicit"),
    ("Bias–variance tradeoff", "The bias-variance tradeoff describes"),
    ("Linear regression basics", "Linear regression fits an affine"),
    ("Layer Dropping and Progressive Pruning (TrimLLM)", "Layer dropping and progressive pruning reduce"),
    ("GPT-3 & Few-Shot In-Context Learning", "GPT-3 showed that"),
    ("Constitutional Classifiers++", "Constitutional Classifiers++ is a production"),
    ("Continuous Thought Machines (CTM)", "Continuous Thought Machines are models"),
    ("ZeRO (Zero Redundancy Optimizer)", "ZeRO (Zero Redundancy Optimizer) partitions"),
    ("T5 (Text-to-Text Transfer Transformer)", "T5 is an encoder-decoder"),
    ("Sparsely-Gated Mixture of Experts (MoE)", "A sparsely-gated Mixture of Experts"),
    ("Xavier/Glorot Initialization", "Xavier or Glorot initialization"),
    ("Gradient Checkpointing (Activation Recomputation)", "Gradient checkpointing saves memory"),
    ("Backpropagation — History (Werbos → Rumelhart/Hinton/Williams)", "The history of backpropagation"),
    ("What is the vanishing gradient problem?", "The vanishing gradient problem is"),
    ("What is catastrophic forgetting?", "Catastrophic forgetting is the sharp"),
    ("What are emergent capabilities in large language models?", "Emergent capabilities in large language"),
    ("Masked language model", "A masked language model is trained"),
    ("Sparse Mixture-of-Experts (MoE) Layer", "A sparse mixture-of-experts layer"),
    ("Vision Transformer (ViT)", "Dosovitskiy et al. (2020)"),
    ("DDIM (Deterministic Diffusion Sampling)", "Song, Meng & Erm"),
    ("Whisper (Speech-to-Text)", "OpenAI's 2022"),
    ("Core LLM Benchmarks (MMLU, HumanEval, GSM8K, MATH)", "MMLU tests broad"),
    ("Hamiltonian Monte Carlo (HMC) & NUTS", "HMC augments the target"),
    ("XGBoost, LightGBM, and CatBoost", "Three production gradient"),
    ("RetNet / Retention Networks", "Sun et al. (2023)"),
    ("PixelCNN / PixelCNN++", "Autoregressive image models"),
    ("Implicit Regularisation of SGD", "Over-parameterised networks"),
    ("Vision-Language Contrastive Objectives Beyond CLIP", "Successors to CLIP"),
    ("Gradient Accumulation & Micro-Batching", "Split a large effective batch"),
    ("Expected Calibration Error (ECE) & Reliability Diagrams", "Measures miscalibration"),
    ("Data Poisoning & Backdoor Attacks", "Insert malicious training"),
    ("Video Diffusion (Sora, Veo, Gen-3)", "Extend image-diffusion"),
    ("Data Curation & Quality Filters (FineWeb, Dolma)", "Modern pretraining pipelines"),
    ("Neural Radiance Fields (NeRF) & 3D Gaussian Splatting", "NeRF encodes"),
    ("Generative Model Evaluation (FID, IS, and their limits)", "Fréchet Inception Distance"),
    ("Graph Attention Network (GAT)", "GAT (Veličković"),
    ("Graph Convolutional Network (GCN)", "Kipf & Welling's GCN"),
    ("Object Detection: R-CNN → Faster R-CNN → DETR", "R-CNN ran a CNN"),
    ("Meta-Learning: MAML & Reptile", "MAML learns an initialisation"),
    ("Multi-Armed Bandits: ε-Greedy, UCB, Thompson Sampling", "A multi-armed bandit is"),
    ("Temporal-Difference Learning: TD(0), SARSA, TD(λ)", "Temporal-difference learning updates"),
    ("Fokker–Planck & Probability-Flow ODE", "The Fokker–Planck equation"),
    ("Natural Gradient & Fisher–Rao Geometry", "The natural gradient"),
    ("Metropolis–Hastings Algorithm", "The canonical MCMC recipe"),
    ("BF16 / FP8 / MXFP4 Number Formats", "These are low-precision"),
    ("Tool Use / Function Calling Benchmarks (BFCL, τ-bench)", "BFCL (Berkeley"),
    ("Jensen's Inequality", "Jensen’s inequality says"),
    ("Actor–Critic Methods", "Actor-critic methods learn"),
    ("Self-Refine / Reflexion", "Two closely related"),
    ("Taylor Series Expansion", "Approximates a smooth function"),
    ("Evidence Lower Bound (ELBO) — Derivation", "Two derivations of the ELBO"),
    ("Quantized KV Cache (int4 / int8 / KIVI)", "Store the KV cache"),
    ("Radix / Prefix-Cache Attention (SGLang)", "Share the KV cache"),
    ("YOLO Family (v1 – v10)", "Single-stage detectors"),
    ("Concentration Inequalities (Hoeffding, Bernstein, McDiarmid)", "High-probability bounds"),
    ("Reasoning Models (o1 / R1-style Long-CoT)", "Reasoning models in the o1"),
    ("Mixture of Depths (MoD)", "Mixture of Depths (Raposo"),
    ("Highway Networks", "Predecessor to ResNet"),
    ("Capsule Networks", "Hinton's alternative"),
    ("Confounding, Colliders, and Simpson’s Paradox", "Confounders create"),
    ("Target Leakage vs. Data Leakage", "Data leakage is any"),
    ("Root Mean Square Normalization (RMSNorm)", "RMSNorm normalizes"),
    ("A/B Testing (ML Systems)", "A/B testing in ML systems"),
    ("Bias (Fairness)", "In fairness contexts"),
    ("k-Nearest Neighbors (k-NN)", "k-nearest neighbors predicts"),
    ("Encodec / Neural Audio Codecs", "Meta's Encodec"),
    ("Transformer-XL / Segment-Level Recurrence", "Dai et al. (2019)"),
    ("Weak-to-Strong Generalization", "OpenAI's analog"),
    ("Hyena / Long Convolutions", "Poli et al."),
    ("Attention Is All You Need", "“Attention Is All You Need” introduced"),
    ("Paired Bootstrap & McNemar's Test for Model Comparison", "Two non-parametric procedures"),
]


@pytest.fixture(scope="module")
def wiki(ingested):
    return {r.title: r for r in ingested.records if r.source == "topic-wiki"}


def test_enough_hand_checked_splits():
    assert len(SPLITS) >= 60


@pytest.mark.parametrize(("title", "start"), SPLITS, ids=[t for t, _ in SPLITS])
def test_hand_checked_split(wiki, title, start):
    assert title in wiki, f"no wiki record titled {title!r}"
    assert wiki[title].description.startswith(start)


def test_fallback_splits_are_counted_and_listed(ingested):
    wiki = [r for r in ingested.records if r.source == "topic-wiki"]
    fallback = [r for r in wiki if r.flags[0].split(":")[1] in FALLBACK_RULES]
    assert len(ingested.report.wiki_fallback_splits) == len(fallback) == 53
    listed = {f.title for f in ingested.report.wiki_fallback_splits}
    assert {"Kernel PCA", "XGBoost, LightGBM, and CatBoost", "RetNet / Retention Networks"} <= listed


# ---------------------------------------------------------------- properties
WORD = st.text(string.ascii_lowercase, min_size=3, max_size=9)
TITLE_WORD = WORD.map(str.capitalize)
ACRONYM = st.text(string.ascii_uppercase, min_size=2, max_size=5)


@st.composite
def entries(draw):
    words = draw(st.lists(TITLE_WORD, min_size=1, max_size=5))
    title = " ".join(words)
    if draw(st.booleans()):
        title += f" ({draw(ACRONYM)})"
    body = " ".join(draw(st.lists(WORD, min_size=3, max_size=12))) + "."
    style = draw(st.sampled_from(["echo", "article", "head"]))
    if style == "echo":
        description = f"{title} is {body}"
    elif style == "article":
        description = f"{draw(st.sampled_from(['The', 'A', 'An']))} {body}"
    else:
        description = f"{words[0]} {body}"
    return title, description


@given(entries())
@example(("Aaa", "A aaa aaa aaa."))  # once read as "Aa" + "aA aaa ...": an echo must open as the title does
def test_split_recovers_title_and_description(entry):
    title, description = entry
    split = split_title(title + description)
    assert split is not None
    assert (split.title, split.description) == (title, description)
