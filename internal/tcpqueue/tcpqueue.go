// Package tcpqueue tells how many bytes the other end of a local TCP
// connection has received but not yet read. It reads the kernel's socket
// table (/proc/net/tcp and tcp6 on Linux), where both ends of a loopback
// connection appear: the peer's rx_queue is rcv_nxt - copied_seq, the
// bytes its application has not taken yet. A peer in another network
// namespace or on another host is not visible.
package tcpqueue

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strconv"
)

// Peer watches the far end of one connection.
type Peer struct {
	// lines are the socket-table lines' address columns that name the
	// peer's socket (its local address, then ours), in each table where it
	// could be listed.
	lines []lookup
}

type lookup struct {
	table  string
	needle []byte
}

// tables of the kernel's TCP sockets; tests point them elsewhere.
var (
	tcp4Table = "/proc/net/tcp"
	tcp6Table = "/proc/net/tcp6"
)

// PeerOf returns the watcher of c's far end, or false when c is not a TCP
// connection (its addresses are not *net.TCPAddr).
func PeerOf(c net.Conn) (*Peer, bool) {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return nil, false
	}
	p := &Peer{}
	if l4, r4 := local.IP.To4(), remote.IP.To4(); l4 != nil && r4 != nil {
		p.lines = append(p.lines, lookup{tcp4Table, needle(addr4(r4, remote.Port), addr4(l4, local.Port))})
		// A peer listening on a dual-stack socket lists IPv4 as mapped
		// IPv6 addresses.
		p.lines = append(p.lines, lookup{tcp6Table, needle(addr6(r4.To16(), remote.Port), addr6(l4.To16(), local.Port))})
	} else {
		p.lines = append(p.lines, lookup{tcp6Table, needle(addr6(remote.IP.To16(), remote.Port), addr6(local.IP.To16(), local.Port))})
	}
	return p, true
}

func needle(peer, us string) []byte { return []byte(" " + peer + " " + us + " ") }

// addr4 writes an IPv4 address and port as the table does: the address as
// the kernel's 32-bit word in host byte order, the port in hex.
func addr4(ip net.IP, port int) string {
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(ip.To4()), port)
}

// addr6 writes an IPv6 address as four such words.
func addr6(ip net.IP, port int) string {
	var s string
	for i := 0; i < 16; i += 4 {
		s += fmt.Sprintf("%08X", binary.NativeEndian.Uint32(ip[i:i+4]))
	}
	return s + fmt.Sprintf(":%04X", port)
}

// Unread returns the bytes the peer has received and not yet read, and
// whether its socket was found at all.
func (p *Peer) Unread() (int, bool) {
	for _, l := range p.lines {
		table, err := os.ReadFile(l.table)
		if err != nil {
			continue
		}
		if n, ok := rxQueue(table, l.needle); ok {
			return n, true
		}
	}
	return 0, false
}

// rxQueue finds the line holding needle and returns its rx_queue column:
// after the address columns come the state and "tx_queue:rx_queue".
func rxQueue(table, needle []byte) (int, bool) {
	i := bytes.Index(table, needle)
	if i < 0 {
		return 0, false
	}
	rest := table[i+len(needle):]
	if end := bytes.IndexByte(rest, '\n'); end >= 0 {
		rest = rest[:end]
	}
	fields := bytes.Fields(rest)
	if len(fields) < 2 {
		return 0, false
	}
	_, rx, ok := bytes.Cut(fields[1], []byte{':'})
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(string(rx), 16, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}
