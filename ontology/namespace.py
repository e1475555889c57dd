"""Namespace constants: a typo in a term raises instead of minting a new IRI.

The ``ckg:`` terms here must match ``ckg.ttl`` exactly; a test checks both ways.
"""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

from ontology.iri import CKG_IRI


class CKG(DefinedNamespace):
    """The thin ``ckg:`` vocabulary (only where no standard term fits)."""

    _fail = True
    _NS = Namespace(CKG_IRI)

    # Classes
    Concept: URIRef
    Layer: URIRef
    Module: URIRef
    ConceptGroup: URIRef
    SourceDocument: URIRef
    SourceRecord: URIRef
    PrerequisiteLink: URIRef
    LearningPath: URIRef
    Phase: URIRef
    Question: URIRef
    StrategyItem: URIRef
    InferredLink: URIRef

    # Properties
    requires: URIRef
    isPrerequisiteOf: URIRef
    layer: URIRef
    order: URIRef
    tier: URIRef
    studyMinutes: URIRef
    premium: URIRef
    stub: URIRef
    problemStatement: URIRef
    unlistedPrerequisites: URIRef
    announcedCount: URIRef
    layerNote: URIRef
    describes: URIRef
    line: URIRef
    statedTitle: URIRef
    statedDescription: URIRef
    statedLayer: URIRef
    statedTier: URIRef
    statedMinutes: URIRef
    statedLevel: URIRef
    statedModule: URIRef
    prerequisiteText: URIRef
    linkSource: URIRef
    linkTarget: URIRef
    slug: URIRef
    method: URIRef
    confidence: URIRef
    phaseNumber: URIRef
    inPath: URIRef
    aboutConcept: URIRef
    splitRule: URIRef
    inferredRequires: URIRef
    inferredLayer: URIRef
    inferredStudyMinutes: URIRef
    inferredModule: URIRef
    inferredLevel: URIRef
    inferredProperty: URIRef
    evidence: URIRef


SCHEMA = Namespace("https://schema.org/")
