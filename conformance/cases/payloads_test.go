package cases

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"unicode/utf8"
)

// The corpora are the same bytes on every run and every machine (Autobahn
// issues #71/#77: results moved when a data file changed). A change to a
// generator must update these digests on purpose.
func TestCorporaAreFixed(t *testing.T) {
	for _, tc := range []struct {
		c      Corpus
		sha256 string
	}{
		{CorpusJSON, "5591d772e9c4bc86f4e626a632edcb3b3b99dcbb470d381986b7101f5b20e9b0"},
		{CorpusImage, "f09821941d84650c76e4acc34f348c8d8f2bd169d677f982283e3bec9bbac59e"},
		{CorpusVerse, "e4527726061e6315ad24952e94455130214ff16d2a30bf410868d2bb2d29a510"},
		{CorpusHTML, "9676d74b50774d501791082627768f9b6431e058fb3509d71ad4de55d5a98125"},
		{CorpusPDF, "d4727726284c06f5d57782e054ec4724cf1a3ce76a07cadc917335c1bed4dc37"},
	} {
		b := tc.c.Bytes()
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != tc.sha256 || len(b) != corpusSize {
			t.Errorf("%s: %d bytes, SHA-256 %s; want %d bytes, %s", tc.c.Name, len(b), got, corpusSize, tc.sha256)
		}
	}
}

// Corpora sent as text are ASCII, so any slice of them is valid UTF-8.
func TestTextCorporaAreASCII(t *testing.T) {
	for _, c := range Corpora {
		if c.Binary {
			continue
		}
		for i, b := range c.Bytes() {
			if b >= utf8.RuneSelf {
				t.Fatalf("%s: byte %d is 0x%02x", c.Name, i, b)
			}
		}
	}
}
