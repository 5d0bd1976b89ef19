# Finds checks whose condition is not one command (run by tests/run.sh):
#   awk -f tests/lint-checks.awk tests/integration/*.sh
# prints "FILE:LINE: MESSAGE" for each and exits 1 if there is any.
#
# check NAME COMMAND... runs COMMAND and records its status; in
#   check NAME [ A ] && [ B ]
# the shell runs B after check and nobody counts B's failure. A statement
# starts at a line whose first word is "check" and runs on over quotes that
# span lines, $( ... ), trailing backslashes and trailing && || |. Quoted
# and substituted text is skipped (wait_for "[ A ] && [ B ]" is one
# argument, as is "$(f "a || b")"), and so is a comment.
# An unquoted && or || in what is left is the fault: right after a "]" it
# joins a second condition; anywhere else it acts on check's own status,
# which is always 0.

function report(msg) {
	print file ":" start ": " msg
	bad = 1
}

# Quoted or substituted text is pushed on a stack of one letter per level
# and stands as one "Q" in the statement's text.
function push(kind) {
	if (stack == "")
		text = text "Q"
	stack = stack kind
}

function pop() {
	stack = substr(stack, 1, length(stack) - 1)
}

function finish(   s) {
	s = text
	gsub(/\\\n/, " ", s)
	if (s ~ /\][ \t\n]*(&&|\|\|)/)
		report("check with a compound condition; put it in a function")
	else if (s ~ /(&&|\|\|)/)
		report("&& or || after a check acts on check's status, which is always 0; put the condition in a function (or use require)")
	inside = 0
}

FNR == 1 {
	if (inside)
		finish()
	stack = ""
}

!inside && /^[ \t]*check[ \t]/ {
	inside = 1
	file = FILENAME
	start = FNR
	text = ""
}

inside {
	n = length($0)
	for (i = 1; i <= n; i++) {
		c = substr($0, i, 1)
		top = substr(stack, length(stack), 1)
		if (top == "S") {               # '...'
			if (c == "'")
				pop()
			continue
		}
		if (top == "D" || top == "B") { # "..." or `...`
			if (c == "\\")
				i++
			else if (c == (top == "D" ? "\"" : "`"))
				pop()
			else if (top == "D" && c == "$" && substr($0, i + 1, 1) == "(") {
				push("C")
				i++
			}
			continue
		}
		# Shell words: at the statement's level (top ""), or inside
		# $( ... ) (top "C", with "P" for each open parenthesis).
		if (c == "\\") {
			# An escaped character, or a line continued.
			if (i == n && top == "")
				text = text "\\"
			i++
			continue
		}
		if (c == "'") {
			push("S")
			continue
		}
		if (c == "\"") {
			push("D")
			continue
		}
		if (c == "`") {
			push("B")
			continue
		}
		if (c == "$" && substr($0, i + 1, 1) == "(") {
			push("C")
			i++
			continue
		}
		if (top != "") {
			if (c == "(")
				push("P")
			else if (c == ")")
				pop()
			continue
		}
		if (c == "#" && (i == 1 || substr($0, i - 1, 1) ~ /[ \t]/))
			break
		text = text c
	}
	text = text "\n"
	if (stack != "")
		next
	if (text ~ /\\\n$/ || text ~ /(&&|\|\||\|)[ \t]*\n$/)
		next
	finish()
}

END {
	if (inside)
		finish()
	exit bad
}
