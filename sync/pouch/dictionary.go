package pouch

// dictionary is the preset dictionary of format 2's DEFLATE stream: the
// names and usual values of the manifest's fields and of the lines most
// pouches carry, so that a pouch of one changed answer does not spend its
// bytes spelling them out. The commonest come last, where DEFLATE reaches
// them with the shortest distances.
//
// It is part of the format: docs/pouch-format.md gives it byte for byte
// (a test holds the two equal), and changing it makes another version.
const dictionary = `{"type":"release","type":"target","type":"guidance","entity":"snapshot","entity":"incident","entity":"attachment","entity":"ack","entity":"update","op":"delete","kind":"rekey","peer_documents":true,"root":,"roots":[],"audit":{"n":,"h":"","at":,"ah":""},"peer":}
{"format":2,"kind":"reply","id":"","from":"HQ","key":"","to":"","recipients":[""],"first":0,"last":0,"created":"T::Z","records":1,"body_sha256":"","raw_size":}
{"type":"receipt","mission":"","pouch":"","through":,"at":"T::.Z","serial":,"recipients":[],"rekeyed":"","card":"","revoked":[],"audit_at":,"peer_key":"","reads":2}
{"format":2,"kind":"changes","id":"","from":"","key":"","to":"HQ","recipients":[""],"first":,"last":,"created":"T::Z","records":1,"body_sha256":"","raw_size":,"audit":{"n":,"h":""},"peer":1}
{"site":"","seq":,"entity":"answer","key":"","op":"put","body":{"item":"","level":,"evidence":"","by":"","at":"T::.Z"},"at":"T::.Z"}
`
