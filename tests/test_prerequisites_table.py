"""Prerequisite lines read by hand from theory-library.txt: exact split and resolved targets.

Each row: topic title, the raw line (as in the file, checked by the test),
the slugs it must split into, and the concept ids they must resolve to.
``*`` after an id marks a stub (referenced but described by no source).
"""

from __future__ import annotations

import pytest

TABLE = [
    (
        "Computability Theory",
        "basic logic and proof techniquessets functions and relations",
        ["basic logic and proof techniques", "sets functions and relations"],
        ["basic-logic-and-proof-techniques", "sets-functions-and-relations"],
    ),
    (
        "Gram Matrices and Kernel Matrices",
        "inner product spaces and orthogonalityeigenvalues and eigenvectors",
        ["inner product spaces and orthogonality", "eigenvalues and eigenvectors"],
        ["inner-product-spaces-and-orthogonality", "eigenvalues-and-eigenvectors"],
    ),
    (
        "KL Divergence",
        "common probability distributionsinformation theory foundations",
        ["common probability distributions", "information theory foundations"],
        ["common-probability-distributions", "information-theory-foundations"],
    ),
    (
        "Numerical Stability and Conditioning",
        "floating point arithmeticmatrix operations and properties",
        ["floating point arithmetic", "matrix operations and properties"],
        ["floating-point-arithmetic*", "matrix-operations-and-properties"],
    ),
    (
        "Skewness, Kurtosis, and Higher Moments",
        "common probability distributionsexpectation variance covariance moments",
        ["common probability distributions", "expectation variance covariance moments"],
        ["common-probability-distributions", "expectation-variance-covariance-and-moments"],
    ),
    (
        "Cramér-Wold Theorem",
        "central limit theoremmeasure theoretic probability",
        ["central limit theorem", "measure theoretic probability"],
        ["central-limit-theorem", "measure-theoretic-probability"],
    ),
    ("Inverse and Implicit Function Theorem", "the jacobian matrix", ["the jacobian matrix"], ["the-jacobian-matrix*"]),
    ("SAT, SMT, and Automated Reasoning", "p vs np", ["p vs np"], ["p-vs-np*"]),
    (
        "Information Geometry",
        "fisher informationconvex duality",
        ["fisher information", "convex duality"],
        ["fisher-information", "convex-duality"],
    ),
    (
        "Stochastic Calculus for ML",
        "martingale theorymeasure theoretic probability",
        ["martingale theory", "measure theoretic probability"],
        ["martingale-theory", "measure-theoretic-probability"],
    ),
    (
        "Algorithmic Stability",
        "empirical risk minimizationvc dimensionconcentration inequalities",
        ["empirical risk minimization", "vc dimension", "concentration inequalities"],
        ["empirical-risk-minimization", "vc-dimension", "concentration-inequalities"],
    ),
    (
        "Matrix Concentration",
        "subgaussian random variablessubexponential random variablesconcentration inequalities",
        ["subgaussian random variables", "subexponential random variables", "concentration inequalities"],
        ["sub-gaussian-random-variables", "sub-exponential-random-variables", "concentration-inequalities"],
    ),
    (
        "Epsilon-Nets and Covering Numbers",
        "subgaussian random variablesconcentration inequalities",
        ["subgaussian random variables", "concentration inequalities"],
        ["sub-gaussian-random-variables", "concentration-inequalities"],
    ),
    (
        "Gradient Flow and Vanishing Gradients",
        "feedforward networks and backpropagationthe jacobian matrix",
        ["feedforward networks and backpropagation", "the jacobian matrix"],
        ["feedforward-networks-and-backpropagation*", "the-jacobian-matrix*"],
    ),
    (
        "Preconditioned Optimizers: Shampoo, K-FAC, and Natural Gradient",
        "convex optimization basicsfisher informationthe hessian matrix",
        ["convex optimization basics", "fisher information", "the hessian matrix"],
        ["convex-optimization-basics", "fisher-information", "the-hessian-matrix*"],
    ),
    (
        "Riemannian Optimization and Manifold Constraints",
        "convex optimization basicsthe hessian matrixeigenvalues and eigenvectors",
        ["convex optimization basics", "the hessian matrix", "eigenvalues and eigenvectors"],
        ["convex-optimization-basics", "the-hessian-matrix*", "eigenvalues-and-eigenvectors"],
    ),
    (
        "Kernels and Reproducing Kernel Hilbert Spaces",
        "convex optimization basicsrademacher complexity",
        ["convex optimization basics", "rademacher complexity"],
        ["convex-optimization-basics", "rademacher-complexity"],
    ),
    (
        "Kernel Two-Sample Tests",
        "kernels and rkhs",
        ["kernels and rkhs"],
        ["kernels-and-reproducing-kernel-hilbert-spaces"],
    ),
    (
        "Implicit Bias and Modern Generalization",
        "gradient descent variantslinear regressionvc dimension",
        ["gradient descent variants", "linear regression", "vc dimension"],
        ["gradient-descent-variants", "linear-regression", "vc-dimension"],
    ),
    (
        "Grokking",
        "regularization theorystochastic gradient descent convergenceimplicit bias and modern generalization",
        ["regularization theory", "stochastic gradient descent convergence", "implicit bias and modern generalization"],
        ["regularization-theory", "stochastic-gradient-descent-convergence", "implicit-bias-and-modern-generalization"],
    ),
    (
        "Sparse Recovery and Compressed Sensing",
        "lasso regressionsubgaussian random variables",
        ["lasso regression", "subgaussian random variables"],
        ["lasso-regression*", "sub-gaussian-random-variables"],
    ),
    (
        "Optimizer Theory: SGD, Adam, and Muon",
        "convex optimization basicsadam optimizer",
        ["convex optimization basics", "adam optimizer"],
        ["convex-optimization-basics", "adam-optimizer"],
    ),
    (
        "Distributed Training Theory",
        "optimizer theory sgd adam muon",
        ["optimizer theory sgd adam muon"],
        ["optimizer-theory-sgd-adam-and-muon"],
    ),
    (
        "Prefix Caching",
        "kv cachekv cache optimization",
        ["kv cache", "kv cache optimization"],
        ["kv-cache", "kv-cache-optimization"],
    ),
    (
        "Transformer Architecture",
        "attention mechanism theoryfeedforward networks and backpropagationsoftmax and numerical stability",
        ["attention mechanism theory", "feedforward networks and backpropagation", "softmax and numerical stability"],
        ["attention-mechanism-theory", "feedforward-networks-and-backpropagation*", "softmax-and-numerical-stability*"],
    ),
    (
        "Out-of-Distribution Detection",
        "calibration and uncertainty",
        ["calibration and uncertainty"],
        ["calibration-and-uncertainty-quantification"],
    ),
    (
        "Continuous Thought Machines",
        "neural odesequilibrium and implicit models",
        ["neural odes", "equilibrium and implicit models"],
        ["neural-ordinary-differential-equations", "equilibrium-and-implicit-layer-models"],
    ),
    (
        "Equilibrium and Implicit-Layer Models",
        "skip connections and resnetsimplicit differentiation",
        ["skip connections and resnets", "implicit differentiation"],
        ["skip-connections-and-resnets*", "implicit-differentiation*"],
    ),
    (
        "Neural ODEs and Continuous-Depth Networks",
        "skip connections and resnetsgradient flow and vanishing gradientsautomatic differentiation",
        ["skip connections and resnets", "gradient flow and vanishing gradients", "automatic differentiation"],
        ["skip-connections-and-resnets*", "gradient-flow-and-vanishing-gradients", "automatic-differentiation"],
    ),
    (
        "The Era of Experience",
        "bitter lessonmarkov decision processes",
        ["bitter lesson", "markov decision processes"],
        ["the-bitter-lesson", "markov-decision-processes"],
    ),
    (
        "Multi-Agent Collaboration",
        "agentic rl and tool useagent protocols mcp a2a",
        ["agentic rl and tool use", "agent protocols mcp a2a"],
        ["agentic-rl-and-tool-use", "agent-protocols-mcp-and-a2a"],
    ),
    (
        "Particle Filters",
        "metropolis hastingsimportance sampling",
        ["metropolis hastings", "importance sampling"],
        ["metropolis-hastings-algorithm", "importance-sampling"],
    ),
    (
        "Feature Importance and Interpretability",
        "random forestsgradient boosting",
        ["random forests", "gradient boosting"],
        ["random-forest", "gradient-boosting-machines"],
    ),
    (
        "Exploration vs Exploitation",
        "multi armed bandits theorymarkov decision processes",
        ["multi armed bandits theory", "markov decision processes"],
        ["multi-armed-bandits-theory", "markov-decision-processes"],
    ),
    (
        "Actor-Critic Methods",
        "policy gradient theoremq learning",
        ["policy gradient theorem", "q learning"],
        ["policy-gradient-theorem", "q-learning"],
    ),
    (
        "Active SLAM and POMDPs",
        "graphslam and factor graphsmarkov decision processes",
        ["graphslam and factor graphs", "markov decision processes"],
        ["graphslam-and-factor-graphs", "markov-decision-processes"],
    ),
    (
        "Forgetting Transformer (FoX)",
        "attention mechanism theoryrecurrent neural networkstransformer architecture",
        ["attention mechanism theory", "recurrent neural networks", "transformer architecture"],
        ["attention-mechanism-theory", "recurrent-neural-network", "transformer-architecture"],
    ),
    (
        "Sparse Autoencoders for Interpretability",
        "autoencodersmechanistic interpretability",
        ["autoencoders", "mechanistic interpretability"],
        ["autoencoders", "mechanistic-interpretability"],
    ),
    (
        "Attention Sinks and Retrieval Decay",
        "attention mechanism theorykv cache",
        ["attention mechanism theory", "kv cache"],
        ["attention-mechanism-theory", "kv-cache"],
    ),
]


@pytest.fixture(scope="module")
def by_title(ingested):
    return {r.title: r for r in ingested.records if r.source == "theory-library"}


def test_table_is_large_enough():
    assert len(TABLE) >= 30
    assert sum(1 for row in TABLE if len(row[2]) == 3) >= 8  # three glued slugs


@pytest.mark.parametrize(("title", "line", "slugs", "targets"), TABLE, ids=[r[0] for r in TABLE])
def test_prerequisite_line(by_title, ingested, title, line, slugs, targets):
    rec = by_title[title]
    assert rec.prerequisite_text == line
    assert list(rec.prerequisites) == slugs
    concepts = {c.id: c for c in ingested.concepts}
    owner = concepts[ingested.resolution.placement[str(rec.locator)]]
    got = [p.target + ("*" if concepts[p.target].stub else "") for p in owner.prerequisites]
    assert got == targets


def test_resolution_totals(ingested):
    report = ingested.report
    assert report.edges == 406
    assert sorted(s.id for s in report.stubs) == [
        "feedforward-networks-and-backpropagation",
        "floating-point-arithmetic",
        "graph-neural-networks",
        "implicit-differentiation",
        "lasso-regression",
        "p-vs-np",
        "skip-connections-and-resnets",
        "softmax-and-numerical-stability",
        "speech-and-audio-ml",
        "the-hessian-matrix",
        "the-jacobian-matrix",
    ]
    stub = next(s for s in report.stubs if s.id == "the-hessian-matrix")
    assert sorted(stub.referenced_by) == [
        "neural-network-optimization-landscape",
        "preconditioned-optimizers-shampoo-k-fac-and-natural-gradient",
        "riemannian-optimization-and-manifold-constraints",
        "training-dynamics-and-loss-landscapes",
    ]
