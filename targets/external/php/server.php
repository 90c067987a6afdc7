<?php
declare(strict_types=1);
/*
 * wsharness external target: a pure-PHP RFC 6455 WebSocket server.
 *
 * What it is
 *   A single-file, single-process WebSocket server for php-cli that uses only
 *   default extensions (no Composer, no mbstring, no ext-sockets): it is built
 *   on stream_socket_server() and stream_select(). It exists so the harness has
 *   a non-Go implementation to test against, and as an example of a
 *   hand-written PHP server that actually follows the RFC.
 *
 *   Endpoints:
 *     /echo       echoes every reassembled message back with the same opcode
 *     /broadcast  sends every message to all open /broadcast connections,
 *                 the sender included
 *   Anything else gets 404. No subprotocol and no extension is ever selected.
 *
 * How to run
 *   php targets/external/php/server.php [PORT]        (default port 9105)
 *   It binds 127.0.0.1 only. SIGTERM/SIGINT stop it cleanly when ext-pcntl is
 *   available; otherwise the default signal action applies.
 *
 *   make conformance URL=ws://127.0.0.1:9105/echo NAME=php OUT=/tmp/php-conf
 *
 *   Limits: one process, one thread; stream_select() is select(2), so about
 *   1000 simultaneous connections at most (FD_SETSIZE). Messages up to 32 MiB.
 *
 * Usual mistakes of hand-written PHP WebSocket servers, and what this one does
 *   - Reading fixed 1000-byte (or 2048-byte) chunks and treating each read as
 *     one frame or one HTTP request: here every connection has its own input
 *     buffer; the handshake is parsed only once "\r\n\r\n" has arrived and
 *     frames are parsed incrementally as bytes come in, so a read may hold half
 *     a header, several frames, or a request followed by frames.
 *   - Treating a short read (or an empty non-blocking read) as a disconnect:
 *     only EOF (feof after an empty read) or a read error closes a connection.
 *   - Supporting only 7-bit and 16-bit payload lengths: 64-bit lengths are
 *     decoded (most significant bit set -> 1002), and messages above 32 MiB
 *     are refused with 1009.
 *   - Ignoring fragmentation: continuation frames are reassembled; an orphan
 *     continuation or a new data frame inside a fragmented message is a
 *     protocol error (1002); control frames may arrive between fragments.
 *   - No masking check: unmasked client frames are a protocol error (1002).
 *     RSV bits must be 0, reserved opcodes fail, control frames must be FIN
 *     and at most 125 bytes.
 *   - Echoing invalid UTF-8: text is validated incrementally and fail-fast
 *     (the connection fails with 1007 as soon as an impossible byte arrives:
 *     surrogates, overlongs, code points above U+10FFFF; a sequence left
 *     incomplete at the end of the message also fails).
 *   - Not answering Close: a valid Close is answered with the same status code
 *     and the TCP connection is then closed by the server; bad Close bodies
 *     (1 byte, reserved/invalid codes) give 1002, an invalid UTF-8 reason 1007.
 *   - Blocking writes: sockets are non-blocking and each connection has an
 *     output buffer flushed when stream_select reports it writable, so one
 *     slow reader cannot stall the others.
 *   - Closing with fclose() right after writing Close (which can turn into a
 *     TCP RST and lose the Close frame): the server flushes, half-closes the
 *     write side, and drains input until the peer closes or a timeout passes.
 */

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_MESSAGE = 32 * 1024 * 1024;   // 32 MiB
const MAX_REQUEST = 16 * 1024;          // handshake request size limit
const READ_CHUNK = 262144;
const OUT_PAUSE_READ = 16 * 1024 * 1024; // stop reading a peer that is not reading us
const OUT_DROP = 256 * 1024 * 1024;      // give up on a broadcast peer this far behind
const DRAIN_TIMEOUT = 2.0;               // seconds to wait for the peer's FIN after our close

// connection states
const ST_HTTP = 0;      // reading the opening handshake
const ST_OPEN = 1;      // WebSocket open
const ST_CLOSING = 2;   // we sent (or will send) our last bytes; flush then shutdown
const ST_DRAIN = 3;     // write side shut down; discard input until EOF/timeout

final class Conn
{
    /** @var resource */
    public $sock;
    public int $id;
    public int $state = ST_HTTP;
    public string $in = '';
    public string $out = '';
    public string $path = '';
    public float $drainDeadline = 0.0;

    // frame being received
    public bool $haveHeader = false;
    public bool $fin = false;
    public int $opcode = 0;
    public int $remaining = 0;   // payload bytes still to read for the current frame
    public string $maskKey = '';
    public int $maskPos = 0;     // payload bytes of the current frame already unmasked
    public string $ctrl = '';    // control-frame payload being collected

    // message being reassembled
    public int $msgOpcode = 0;   // 0 = no message in progress
    public string $msg = '';
    public string $utf8Pending = ''; // trailing bytes of an incomplete UTF-8 sequence

    public function __construct($sock, int $id)
    {
        $this->sock = $sock;
        $this->id = $id;
    }
}

final class Server
{
    /** @var resource */
    private $listener;
    /** @var array<int, Conn> */
    private array $conns = [];
    /** @var array<int, Conn> */
    private array $broadcast = [];
    private bool $running = true;

    public function __construct(int $port)
    {
        $ctx = stream_context_create(['socket' => ['backlog' => 1024, 'so_reuseaddr' => true]]);
        $errno = 0;
        $errstr = '';
        $l = @stream_socket_server("tcp://127.0.0.1:$port", $errno, $errstr,
            STREAM_SERVER_BIND | STREAM_SERVER_LISTEN, $ctx);
        if ($l === false) {
            fwrite(STDERR, "listen 127.0.0.1:$port: $errstr ($errno)\n");
            exit(1);
        }
        stream_set_blocking($l, false);
        $this->listener = $l;
        if (function_exists('pcntl_async_signals')) {
            pcntl_async_signals(true);
            $stop = function (): void { $this->running = false; };
            pcntl_signal(SIGTERM, $stop);
            pcntl_signal(SIGINT, $stop);
        }
        fwrite(STDERR, "php websocket server listening on ws://127.0.0.1:$port (/echo, /broadcast)\n");
    }

    public function run(): void
    {
        while ($this->running) {
            $read = [$this->listener];
            $write = [];
            $except = null;
            $now = microtime(true);
            $timeout = 1.0;
            foreach ($this->conns as $c) {
                if ($c->state === ST_DRAIN) {
                    if ($now >= $c->drainDeadline) {
                        $this->drop($c);
                        continue;
                    }
                    $timeout = min($timeout, $c->drainDeadline - $now);
                    $read[] = $c->sock;
                    continue;
                }
                if ($c->state !== ST_CLOSING && strlen($c->out) < OUT_PAUSE_READ) {
                    $read[] = $c->sock;
                }
                if ($c->out !== '') {
                    $write[] = $c->sock;
                }
            }
            $sec = (int)$timeout;
            $usec = (int)(($timeout - $sec) * 1e6);
            $n = @stream_select($read, $write, $except, $sec, max(0, $usec));
            if ($n === false) {
                if (!$this->running) {
                    break;
                }
                continue; // EINTR (signal) or a transient failure
            }
            foreach ($write as $s) {
                $c = $this->conns[(int)$s] ?? null;
                if ($c !== null) {
                    $this->flush($c);
                }
            }
            foreach ($read as $s) {
                if ($s === $this->listener) {
                    $this->accept();
                    continue;
                }
                $c = $this->conns[(int)$s] ?? null;
                if ($c !== null) {
                    $this->readFrom($c);
                }
            }
        }
        foreach ($this->conns as $c) {
            if ($c->state === ST_OPEN) {
                @fwrite($c->sock, self::frame(0x8, pack('n', 1001)));
            }
            $this->drop($c);
        }
        fclose($this->listener);
    }

    private function accept(): void
    {
        // accept everything that is pending
        for ($i = 0; $i < 64; $i++) {
            $s = @stream_socket_accept($this->listener, 0);
            if ($s === false) {
                return;
            }
            stream_set_blocking($s, false);
            stream_set_read_buffer($s, 0);
            stream_set_write_buffer($s, 0);
            if (function_exists('socket_import_stream') && defined('TCP_NODELAY')) {
                $sk = @socket_import_stream($s);
                if ($sk !== false && $sk !== null) {
                    @socket_set_option($sk, SOL_TCP, TCP_NODELAY, 1);
                }
            }
            $id = (int)$s;
            $this->conns[$id] = new Conn($s, $id);
        }
    }

    private function drop(Conn $c): void
    {
        unset($this->conns[$c->id], $this->broadcast[$c->id]);
        @fclose($c->sock);
    }

    private function readFrom(Conn $c): void
    {
        $data = @fread($c->sock, READ_CHUNK);
        if ($data === false || $data === '') {
            if ($data === false || feof($c->sock)) {
                $this->drop($c); // EOF or error: the peer is gone
            }
            return; // a spurious wake-up / nothing available is not a disconnect
        }
        if ($c->state === ST_DRAIN || $c->state === ST_CLOSING) {
            return; // discard
        }
        $c->in .= $data;
        if ($c->state === ST_HTTP) {
            $this->handshake($c);
        }
        if ($c->state === ST_OPEN) {
            $this->frames($c);
        }
        if (isset($this->conns[$c->id]) && $c->out !== '') {
            $this->flush($c);
        }
    }

    private function flush(Conn $c): void
    {
        while ($c->out !== '') {
            $n = @fwrite($c->sock, $c->out);
            if ($n === false) {
                $this->drop($c);
                return;
            }
            if ($n === 0) {
                break; // would block; stream_select will tell us when to retry
            }
            $c->out = $n >= strlen($c->out) ? '' : substr($c->out, $n);
        }
        if ($c->out === '' && $c->state === ST_CLOSING) {
            $this->beginDrain($c);
        }
    }

    private function beginDrain(Conn $c): void
    {
        @stream_socket_shutdown($c->sock, STREAM_SHUT_WR);
        $c->state = ST_DRAIN;
        $c->in = $c->msg = '';
        $c->drainDeadline = microtime(true) + DRAIN_TIMEOUT;
    }

    private function send(Conn $c, string $bytes): void
    {
        $c->out .= $bytes;
    }

    // ---------------------------------------------------------------- handshake

    private function httpError(Conn $c, int $status, string $reason, array $extra = []): void
    {
        $body = "$status $reason\n";
        $h = "HTTP/1.1 $status $reason\r\n";
        foreach ($extra as $line) {
            $h .= $line . "\r\n";
        }
        $h .= "Content-Type: text/plain\r\nContent-Length: " . strlen($body) . "\r\nConnection: close\r\n\r\n";
        $this->send($c, $h . $body);
        $c->state = ST_CLOSING;
        $c->in = '';
    }

    /** @return string[] lower-cased tokens of a comma-separated header list */
    private static function tokens(?string $v): array
    {
        if ($v === null) {
            return [];
        }
        $out = [];
        foreach (explode(',', $v) as $t) {
            $t = strtolower(trim($t, " \t"));
            if ($t !== '') {
                $out[] = $t;
            }
        }
        return $out;
    }

    private function handshake(Conn $c): void
    {
        $end = strpos($c->in, "\r\n\r\n");
        if ($end === false) {
            if (strlen($c->in) > MAX_REQUEST) {
                $this->httpError($c, 431, 'Request Header Fields Too Large');
            }
            return;
        }
        if ($end > MAX_REQUEST) {
            $this->httpError($c, 431, 'Request Header Fields Too Large');
            return;
        }
        $head = substr($c->in, 0, $end);
        $c->in = (string)substr($c->in, $end + 4);

        $lines = explode("\r\n", $head);
        $reqLine = array_shift($lines);
        if (!preg_match('#^([!-~]+) (\S+) HTTP/(\d+)\.(\d+)$#', $reqLine, $m)) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        [, $method, $target, $major, $minor] = $m;
        $headers = [];   // lower-case name => list of values
        foreach ($lines as $line) {
            if ($line === '' || $line[0] === ' ' || $line[0] === "\t") {
                $this->httpError($c, 400, 'Bad Request'); // obsolete line folding or garbage
                return;
            }
            $colon = strpos($line, ':');
            if ($colon === false || $colon === 0 || !preg_match('/^[!#$%&\'*+\-.^_`|~0-9A-Za-z]+$/', substr($line, 0, $colon))) {
                $this->httpError($c, 400, 'Bad Request');
                return;
            }
            $name = strtolower(substr($line, 0, $colon));
            $headers[$name][] = trim(substr($line, $colon + 1), " \t");
        }
        $one = static function (string $n) use ($headers): ?string {
            return isset($headers[$n]) ? implode(', ', $headers[$n]) : null;
        };

        if ($method !== 'GET') {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        if ((int)$major < 1 || ((int)$major === 1 && (int)$minor < 1)) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        if (!isset($headers['host'])) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        if (!in_array('websocket', self::tokens($one('upgrade')), true)
            || !in_array('upgrade', self::tokens($one('connection')), true)) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        $keys = $headers['sec-websocket-key'] ?? [];
        $key = count($keys) === 1 ? $keys[0] : '';
        $raw = preg_match('#^[A-Za-z0-9+/]{22}==$#', $key) ? base64_decode($key, true) : false;
        if ($raw === false || strlen($raw) !== 16) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        $versions = $headers['sec-websocket-version'] ?? [];
        if (count($versions) === 0) {
            $this->httpError($c, 400, 'Bad Request');
            return;
        }
        if (count($versions) !== 1 || $versions[0] !== '13') {
            $this->httpError($c, 426, 'Upgrade Required', ['Sec-WebSocket-Version: 13']);
            return;
        }

        // origin-form target: path plus optional query
        $q = strpos($target, '?');
        $path = $q === false ? $target : substr($target, 0, $q);
        if ($path !== '/echo' && $path !== '/broadcast') {
            $this->httpError($c, 404, 'Not Found');
            return;
        }

        $accept = base64_encode(sha1($key . WS_GUID, true));
        $this->send($c, "HTTP/1.1 101 Switching Protocols\r\n"
            . "Upgrade: websocket\r\n"
            . "Connection: Upgrade\r\n"
            . "Sec-WebSocket-Accept: $accept\r\n\r\n");
        $c->state = ST_OPEN;
        $c->path = $path;
        if ($path === '/broadcast') {
            $this->broadcast[$c->id] = $c;
        }
    }

    // ---------------------------------------------------------------- frames

    public static function frame(int $opcode, string $payload): string
    {
        $len = strlen($payload);
        $b0 = chr(0x80 | $opcode);
        if ($len < 126) {
            return $b0 . chr($len) . $payload;
        }
        if ($len < 65536) {
            return $b0 . chr(126) . pack('n', $len) . $payload;
        }
        return $b0 . chr(127) . pack('J', $len) . $payload;
    }

    /** Send Close with $code and stop processing input; TCP is closed after the flush. */
    private function fail(Conn $c, int $code, string $reason = ''): void
    {
        $this->send($c, self::frame(0x8, pack('n', $code) . $reason));
        $this->closeAfterFlush($c);
    }

    private function closeAfterFlush(Conn $c): void
    {
        $c->state = ST_CLOSING;
        $c->in = $c->msg = $c->ctrl = '';
        unset($this->broadcast[$c->id]);
        if ($c->out === '') {
            $this->beginDrain($c);
        }
    }

    private function frames(Conn $c): void
    {
        while ($c->state === ST_OPEN) {
            if (!$c->haveHeader) {
                if (!$this->parseHeader($c)) {
                    return; // need more bytes (or failed)
                }
            }
            // payload, possibly partial
            if ($c->remaining > 0) {
                if ($c->in === '') {
                    return;
                }
                $take = min($c->remaining, strlen($c->in));
                $chunk = $take === strlen($c->in) ? $c->in : substr($c->in, 0, $take);
                $c->in = $take === strlen($c->in) ? '' : substr($c->in, $take);
                $chunk = self::unmask($chunk, $c->maskKey, $c->maskPos);
                $c->maskPos += $take;
                $c->remaining -= $take;
                if ($c->opcode >= 0x8) {
                    $c->ctrl .= $chunk;
                } else {
                    if ($c->msgOpcode === 0x1 && !self::utf8Feed($c->utf8Pending, $chunk)) {
                        $this->fail($c, 1007);
                        return;
                    }
                    $c->msg .= $chunk;
                }
                if ($c->remaining > 0) {
                    return; // wait for the rest of this frame
                }
            }
            // frame complete
            $c->haveHeader = false;
            if ($c->opcode >= 0x8) {
                $p = $c->ctrl;
                $c->ctrl = '';
                $this->control($c, $c->opcode, $p);
                continue;
            }
            if ($c->fin) {
                $op = $c->msgOpcode;
                $msg = $c->msg;
                $c->msgOpcode = 0;
                $c->msg = '';
                if ($op === 0x1 && $c->utf8Pending !== '') {
                    $this->fail($c, 1007);
                    return;
                }
                $c->utf8Pending = '';
                $this->deliver($c, $op, $msg);
            }
        }
    }

    /** Parse a frame header from $c->in; returns true once a header has been consumed. */
    private function parseHeader(Conn $c): bool
    {
        $have = strlen($c->in);
        if ($have < 2) {
            return false;
        }
        $b0 = ord($c->in[0]);
        $b1 = ord($c->in[1]);
        $fin = ($b0 & 0x80) !== 0;
        $rsv = $b0 & 0x70;
        $op = $b0 & 0x0F;
        $masked = ($b1 & 0x80) !== 0;
        $len7 = $b1 & 0x7F;

        // checks that need only the first two bytes: fail fast
        if ($rsv !== 0) {
            $this->fail($c, 1002);
            return false;
        }
        $isControl = $op >= 0x8;
        if (($op > 0x2 && $op < 0x8) || $op > 0xA) {
            $this->fail($c, 1002);
            return false;
        }
        if ($isControl && (!$fin || $len7 > 125)) {
            $this->fail($c, 1002);
            return false;
        }
        if (!$masked) {
            $this->fail($c, 1002);
            return false;
        }
        if ($op === 0x0 && $c->msgOpcode === 0) {
            $this->fail($c, 1002); // continuation with no message in progress
            return false;
        }
        if (($op === 0x1 || $op === 0x2) && $c->msgOpcode !== 0) {
            $this->fail($c, 1002); // new data frame inside a fragmented message
            return false;
        }

        $pos = 2;
        if ($len7 === 126) {
            if ($have < 4) {
                return false;
            }
            $len = unpack('n', $c->in, 2)[1];
            $pos = 4;
        } elseif ($len7 === 127) {
            if ($have < 3) {
                return false;
            }
            if ((ord($c->in[2]) & 0x80) !== 0) {
                $this->fail($c, 1002); // most significant bit MUST be 0
                return false;
            }
            if ($have < 10) {
                return false;
            }
            $len = unpack('J', $c->in, 2)[1];
            $pos = 10;
        } else {
            $len = $len7;
        }
        if (!$isControl && strlen($c->msg) + $len > MAX_MESSAGE) {
            $this->fail($c, 1009);
            return false;
        }
        if ($have < $pos + 4) {
            return false;
        }
        $c->maskKey = substr($c->in, $pos, 4);
        $c->in = (string)substr($c->in, $pos + 4);
        $c->haveHeader = true;
        $c->fin = $fin;
        $c->opcode = $op;
        $c->remaining = $len;
        $c->maskPos = 0;
        if ($op === 0x1 || $op === 0x2) {
            $c->msgOpcode = $op;
            $c->msg = '';
            $c->utf8Pending = '';
        }
        return true;
    }

    private static function unmask(string $data, string $key, int $offset): string
    {
        $r = $offset & 3;
        if ($r !== 0) {
            $key = substr($key . $key, $r, 4);
        }
        return $data ^ str_pad('', strlen($data), $key);
    }

    private function control(Conn $c, int $op, string $p): void
    {
        if ($op === 0x9) {          // ping -> pong with the same payload
            $this->send($c, self::frame(0xA, $p));
            return;
        }
        if ($op === 0xA) {          // unsolicited pong: ignore
            return;
        }
        // close
        $n = strlen($p);
        if ($n === 0) {
            $this->send($c, self::frame(0x8, ''));
            $this->closeAfterFlush($c);
            return;
        }
        if ($n === 1) {
            $this->fail($c, 1002);
            return;
        }
        $code = unpack('n', $p)[1];
        $valid = ($code >= 1000 && $code <= 1003) || ($code >= 1007 && $code <= 1014)
            || ($code >= 3000 && $code <= 4999);
        if (!$valid) {
            $this->fail($c, 1002);
            return;
        }
        $reason = substr($p, 2);
        if ($reason !== '' && !preg_match('//u', $reason)) {
            $this->fail($c, 1007);
            return;
        }
        $this->send($c, self::frame(0x8, pack('n', $code)));
        $this->closeAfterFlush($c);
    }

    private function deliver(Conn $c, int $op, string $msg): void
    {
        if ($c->path === '/echo') {
            $this->send($c, self::frame($op, $msg));
            return;
        }
        $f = self::frame($op, $msg);
        foreach ($this->broadcast as $peer) {
            if ($peer->state !== ST_OPEN) {
                continue;
            }
            if (strlen($peer->out) > OUT_DROP) {
                // hopelessly behind: do not let it grow without bound
                $peer->out = '';
                $this->fail($peer, 1008, 'too slow');
                continue;
            }
            $peer->out .= $f;
            if ($peer !== $c) {
                $this->flush($peer);
            }
        }
    }

    // ---------------------------------------------------------------- UTF-8

    /**
     * Feed a chunk of a text message to the incremental validator.
     * $pending holds the trailing bytes of a sequence split across chunks.
     * Returns false as soon as a byte is seen that no valid continuation
     * could make valid.
     */
    public static function utf8Feed(string &$pending, string $chunk): bool
    {
        $s = $pending === '' ? $chunk : $pending . $chunk;
        if ($s === '') {
            return true;
        }
        if (preg_match('//u', $s)) {
            $pending = '';
            return true;
        }
        // Either invalid, or valid up to an incomplete sequence at the end.
        $len = strlen($s);
        $cut = -1;
        for ($i = $len - 1; $i >= 0 && $i >= $len - 3; $i--) {
            $b = ord($s[$i]);
            if (($b & 0xC0) !== 0x80) { // not a continuation byte: candidate lead
                $need = $b >= 0xF0 ? 4 : ($b >= 0xE0 ? 3 : ($b >= 0xC0 ? 2 : 1));
                if ($need > $len - $i) {
                    $cut = $i;
                }
                break;
            }
        }
        if ($cut < 0) {
            return false;
        }
        $head = substr($s, 0, $cut);
        $tail = substr($s, $cut);
        if ($head !== '' && !preg_match('//u', $head)) {
            return false;
        }
        if (!self::utf8Prefix($tail)) {
            return false;
        }
        $pending = $tail;
        return true;
    }

    /** Is $t (1..3 bytes) a proper prefix of some valid UTF-8 sequence? */
    private static function utf8Prefix(string $t): bool
    {
        $b0 = ord($t[0]);
        $n = strlen($t);
        if ($b0 >= 0xC2 && $b0 <= 0xDF) {
            return $n === 1;
        }
        if ($b0 >= 0xE0 && $b0 <= 0xEF) {
            if ($n >= 2) {
                $b1 = ord($t[1]);
                $lo = $b0 === 0xE0 ? 0xA0 : 0x80;
                $hi = $b0 === 0xED ? 0x9F : 0xBF;
                if ($b1 < $lo || $b1 > $hi) {
                    return false;
                }
            }
            return $n <= 2;
        }
        if ($b0 >= 0xF0 && $b0 <= 0xF4) {
            if ($n >= 2) {
                $b1 = ord($t[1]);
                $lo = $b0 === 0xF0 ? 0x90 : 0x80;
                $hi = $b0 === 0xF4 ? 0x8F : 0xBF;
                if ($b1 < $lo || $b1 > $hi) {
                    return false;
                }
            }
            if ($n >= 3) {
                $b2 = ord($t[2]);
                if ($b2 < 0x80 || $b2 > 0xBF) {
                    return false;
                }
            }
            return $n <= 3;
        }
        return false;
    }
}

$port = isset($argv[1]) ? (int)$argv[1] : 9105;
if ($port <= 0 || $port > 65535) {
    fwrite(STDERR, "usage: php server.php [PORT]\n");
    exit(2);
}
(new Server($port))->run();
