package protocol

import "strings"

// Synonyms are the words staff type for what the protocols name
// otherwise: a search for one also finds the phrases it stands for. The
// keys are lower case; stemming covers plurals and other endings.
var Synonyms = map[string][]string{
	"deepfake":       {"synthetic media", "synthetic audio", "synthetic video"},
	"deepfakes":      {"synthetic media", "synthetic audio", "synthetic video"},
	"fake":           {"false", "manipulated", "synthetic"},
	"fakes":          {"false", "manipulated", "synthetic"},
	"cloned":         {"impersonation"},
	"clone":          {"impersonation"},
	"spoof":          {"impersonation"},
	"spoofed":        {"impersonation"},
	"disinformation": {"false narrative", "coordinated campaign", "influence campaign"},
	"misinformation": {"false narrative", "rumour"},
	"rumor":          {"rumour"},
	"rumors":         {"rumour"},
	"bots":           {"coordinated campaign", "inauthentic"},
	"troll":          {"coordinated campaign"},
	"trolls":         {"coordinated campaign"},
	"ai":             {"artificial intelligence"},
	"chatgpt":        {"generative ai", "ai tools"},
	"leak":           {"leaked"},
	"press":          {"media", "journalist"},
}

// SynonymsOf returns the phrases a typed word also stands for.
func SynonymsOf(word string) []string { return Synonyms[strings.ToLower(word)] }
