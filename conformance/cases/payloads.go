package cases

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
)

// Payload corpora of the compression families. Autobahn's 12.x sends
// slices of five files it ships (a JSON document, the Lena BMP, Goethe's
// Faust, an HTML page, a PDF); wsharness generates stand-ins of the same
// kinds from fixed seeds, so every run sends the same bytes and nothing is
// downloaded. The text corpora sent as text messages are ASCII, so any
// slice of them is valid UTF-8.

// Corpus is a generated payload: its bytes are never modified.
type Corpus struct {
	Name   string
	Binary bool // sent as binary messages
	data   func() []byte
}

// Bytes returns the corpus, generated on first use.
func (c Corpus) Bytes() []byte { return c.data() }

// corpusSize is each corpus' length: room for 128 KiB slices at many offsets.
const corpusSize = 320 << 10

// Corpora of 12.1–12.5, in Autobahn's order.
var (
	CorpusJSON  = Corpus{Name: "JSON-like text", data: sync.OnceValue(func() []byte { return jsonLike(1) })}
	CorpusImage = Corpus{Name: "image-like bitmap", Binary: true, data: sync.OnceValue(func() []byte { return imageLike(2) })}
	CorpusVerse = Corpus{Name: "repetitive verse (UTF-8 text sent as binary)", Binary: true, data: sync.OnceValue(func() []byte { return verse(3) })}
	CorpusHTML  = Corpus{Name: "HTML-like text", data: sync.OnceValue(func() []byte { return htmlLike(4) })}
	CorpusPDF   = Corpus{Name: "PDF-like mix of text and random binary streams", Binary: true, data: sync.OnceValue(func() []byte { return pdfLike(5) })}
)

// Corpora lists the corpora in that order: 12.N sends Corpora[N-1].
var Corpora = []Corpus{CorpusJSON, CorpusImage, CorpusVerse, CorpusHTML, CorpusPDF}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x77736861726e6573)) }

var words = strings.Fields(`alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima
mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu socket
frame message server client handshake extension deflate window context takeover payload binary text
ping pong close status reason mask length opcode fragment continuation latency throughput buffer`)

func word(r *rand.Rand) string { return words[r.IntN(len(words))] }

// jsonLike is an array of records with repeated keys and varied values,
// like an API response.
func jsonLike(seed uint64) []byte {
	r := newRand(seed)
	var b bytes.Buffer
	b.WriteString("[\n")
	for i := 0; b.Len() < corpusSize; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `  {"id": %d, "name": "%s %s", "email": "%s.%s@example.org", "active": %t, "score": %.3f,`,
			10000+i, word(r), word(r), word(r), word(r), r.IntN(2) == 0, r.Float64()*1000)
		fmt.Fprintf(&b, ` "tags": ["%s", "%s", "%s"], "address": {"street": "%d %s Road", "zip": "%05d"}, "note": "%s"}`,
			word(r), word(r), word(r), 1+r.IntN(999), word(r), r.IntN(100000), sentence(r, 4+r.IntN(12)))
	}
	b.WriteString("\n]\n")
	return b.Bytes()[:corpusSize]
}

func sentence(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = word(r)
	}
	return strings.Join(w, " ")
}

// imageLike is an 8-bit grey bitmap: a BMP-style header, then smooth
// gradients and rings with a little noise, as a photograph compresses.
func imageLike(seed uint64) []byte {
	r := newRand(seed)
	const width = 576
	var b bytes.Buffer
	b.WriteString("BM")
	_ = binary.Write(&b, binary.LittleEndian, [13]uint32{corpusSize, 0, 1078, 40, width, corpusSize / width, 0x00080001, 0, corpusSize - 1078, 2835, 2835, 256, 0})
	for i := 0; i < 256; i++ { // grey palette
		b.Write([]byte{byte(i), byte(i), byte(i), 0})
	}
	for y := 0; b.Len() < corpusSize; y++ {
		for x := 0; x < width; x++ {
			dx, dy := float64(x-width/2), float64(y-280)
			v := 128 + 60*math.Sin(math.Hypot(dx, dy)/18) + 0.12*float64(x) - 0.1*float64(y) + float64(r.IntN(3)) - 1
			b.WriteByte(byte(max(0, min(255, v))))
		}
	}
	return b.Bytes()[:corpusSize]
}

// verse is UTF-8 text with a small vocabulary and refrains, like a play:
// the most compressible corpus.
func verse(seed uint64) []byte {
	r := newRand(seed)
	vocab := strings.Fields(`Nacht Geist Welt Herz Blut Licht Tür Gefühl Glück Schönheit Seele Natur Kraft Erde Himmel
		Träume müde ewig dunkel hell süß still wüst grün hohe weite tiefe Ärger Übermut Öde Frühling`)
	refrains := []string{
		"Habe nun, ach! die Zeilen hier durchaus studiert, mit heißem Bemühn.\n",
		"Da steh ich nun, ich armer Tor, und bin so klug als wie zuvor.\n",
		"Zwei Seelen wohnen, ach! in meiner Brust.\n",
	}
	var b bytes.Buffer
	for scene := 1; b.Len() < corpusSize; scene++ {
		fmt.Fprintf(&b, "\nSZENE %d\n\n", scene)
		for line := 0; line < 24; line++ {
			if line%6 == 5 {
				b.WriteString(refrains[r.IntN(len(refrains))])
				continue
			}
			for w := 0; w < 5+r.IntN(5); w++ {
				if w > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(vocab[r.IntN(len(vocab))])
			}
			b.WriteString(".\n")
		}
	}
	return b.Bytes()[:corpusSize]
}

// htmlLike is markup with nested tags, attributes and paragraphs.
func htmlLike(seed uint64) []byte {
	r := newRand(seed)
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>wsharness corpus</title></head>\n<body>\n")
	for i := 0; b.Len() < corpusSize; i++ {
		fmt.Fprintf(&b, "<section id=\"s%d\" class=\"%s %s\">\n  <h2>%s</h2>\n", i, word(r), word(r), sentence(r, 3))
		for p := 0; p < 1+r.IntN(4); p++ {
			fmt.Fprintf(&b, "  <p>%s <a href=\"/%s/%s.html\">%s</a> %s.</p>\n", sentence(r, 8+r.IntN(20)), word(r), word(r), word(r), sentence(r, 5))
		}
		fmt.Fprintf(&b, "  <ul>\n    <li>%s</li>\n    <li>%s</li>\n  </ul>\n</section>\n", sentence(r, 4), sentence(r, 6))
	}
	return b.Bytes()[:corpusSize]
}

// pdfLike alternates image streams of random bytes with page content
// streams of text, about half and half, so messages range from
// incompressible to compressible.
func pdfLike(seed uint64) []byte {
	r := newRand(seed)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for obj := 1; b.Len() < corpusSize; obj++ {
		n := 1<<10 + r.IntN(15<<10)
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d /Filter /FlateDecode /Length %d >>\nstream\n",
			obj, 64+r.IntN(512), 64+r.IntN(512), n)
		chunk := make([]byte, n)
		for i := range chunk {
			chunk[i] = byte(r.Uint32())
		}
		b.Write(chunk)
		fmt.Fprintf(&b, "\nendstream\nendobj\n%d 0 obj\n<< /Type /Page /Parent 2 0 R /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>\nendobj\n",
			obj+1000, obj, obj+2000)
		fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d >>\nstream\n", obj+3000, n)
		for end := b.Len() + n; b.Len() < end; {
			fmt.Fprintf(&b, "BT /F1 12 Tf 72 %d Td (%s) Tj ET\n", 700-r.IntN(600), sentence(r, 6+r.IntN(10)))
		}
		b.WriteString("endstream\nendobj\n")
	}
	return b.Bytes()[:corpusSize]
}
