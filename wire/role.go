package wire

import "fmt"

// Role is the end of a connection a party plays. The harness plays either:
// the client when it tests servers, the server when it tests clients. The
// frame layer takes the role as a parameter rather than having a copy per
// end: it decides which frames are masked by default (RFC 6455 §5.1) and
// which of the peer's frames break the RFC.
type Role uint8

// The zero Role is Server: what wsharness tests unless told otherwise.
const (
	// Server accepts the connection and masks no frame it sends.
	Server Role = iota
	// Client opens the connection and masks every frame it sends.
	Client
)

func (r Role) String() string {
	if r == Client {
		return "client"
	}
	return "server"
}

// Peer returns the role at the other end.
func (r Role) Peer() Role {
	if r == Client {
		return Server
	}
	return Client
}

// Masking says whether a frame goes out masked.
type Masking uint8

const (
	// MaskForRole masks as §5.1 requires of the sender: a client's frames
	// are masked, a server's are not.
	MaskForRole Masking = iota
	// MaskAlways masks whatever the role: a client's key chosen on purpose,
	// or a server's defect.
	MaskAlways
	// MaskNever masks nothing whatever the role: a client's defect.
	MaskNever
	// MaskAgainstRole masks as §5.1 forbids the sender: a client's frame
	// unmasked, a server's masked. A case written once sends the wrong
	// mask from either end.
	MaskAgainstRole
)

// masked reports whether a frame with this masking, sent by role, is
// masked.
func (m Masking) masked(role Role) bool {
	switch m {
	case MaskAlways:
		return true
	case MaskNever:
		return false
	case MaskAgainstRole:
		return role == Server
	}
	return role == Client
}

// MarshalText writes the role as "server" or "client".
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "server" or "client".
func (r *Role) UnmarshalText(b []byte) error {
	switch string(b) {
	case "server":
		*r = Server
	case "client":
		*r = Client
	default:
		return fmt.Errorf("role %q: want server or client", b)
	}
	return nil
}
