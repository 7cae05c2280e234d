# bash completion for aiojobctl(1): subcommands, their options, submit
# kinds and their options, job states, files where a path is expected.
# Plain bash (compgen, COMP_WORDS); bash-completion's _filedir is used for
# paths when it is loaded.

_aiojobctl_cmds="ping submit status logs list wait cancel stats queue
watch clean shutdown reload"

# Set COMPREPLY to the words of $1 that start with $2.
_aiojobctl_words()
{
	local IFS=$' \t\n'

	COMPREPLY=($(compgen -W "$1" -- "$2"))
}

# File names (directories only with -d) that start with $2.
_aiojobctl_files()
{
	local IFS=$'\n'

	if declare -F _filedir >/dev/null; then
		cur=$2
		if [[ $1 == -d ]]; then _filedir -d; else _filedir; fi
		return
	fi
	compopt -o filenames 2>/dev/null
	if [[ $1 == -d ]]; then
		COMPREPLY=($(compgen -d -- "$2"))
	else
		COMPREPLY=($(compgen -f -- "$2"))
	fi
}

# The value of option $1 that starts with $2 ($3: the subcommand); returns
# 1 when $1 is not an option that takes a value.
_aiojobctl_value()
{
	case $1 in
	--state)
		if [[ $3 == clean ]]; then
			_aiojobctl_words "succeeded failed cancelled" "$2"
		else
			_aiojobctl_words "queued running succeeded failed
			    cancelled" "$2"
		fi ;;
	--file|--stdin-file|--data-file)
		_aiojobctl_files -f "$2"
		[[ $2 == "" || $2 == - ]] && COMPREPLY+=(-) ;;
	--token-file|--tls-ca-file|--tls-cert-file|--tls-key-file)
		_aiojobctl_files -f "$2" ;;
	--cwd)
		_aiojobctl_files -d "$2" ;;
	--method)
		_aiojobctl_words "GET POST PUT PATCH DELETE HEAD OPTIONS
		    TRACE" "$2" ;;
	--env)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -e -S = -- "$2")) ;;
	*)
		_aiojobctl_takes_value "$1" || return 1
		COMPREPLY=() ;;	# a number, a duration, a name: no guess
	esac
	return 0
}

# Whether word $1 is an option that takes the next word as its value.
_aiojobctl_takes_value()
{
	case $1 in
	--url|--events-url|--token|--token-file|--queue|--priority|\
	--tls-ca-file|--tls-server-name|--tls-cert-file|--tls-key-file|\
	--delay|--timeout|--name|\
	--key|--retries|--backoff|--after|--lock|--file|--input|--env|\
	--cwd|--stdin-file|--max-output|--method|--header|--data|\
	--data-file|--max-body|--follow|--state|--owner|--limit|--before|\
	--durable-wait|\
	--older-than)
		return 0 ;;
	esac
	return 1
}

# COMP_WORDS with "--opt=value" and "a:b" (split by COMP_WORDBREAKS) put
# back together, into words and cword.
_aiojobctl_reassemble()
{
	local i w glue=''

	words=()
	cword=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if ((i > 0)) && [[ -n $glue || $w == = || $w == : ]]; then
			words[${#words[@]} - 1]+=$w
			[[ $w == = || $w == : ]] && glue=1 || glue=
		else
			words+=("$w")
			glue=
		fi
		((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
	done
}

# submit [options] KIND ARGS...: the options, the kind, its options.
_aiojobctl_submit()
{
	local i w kind='' kindi=''

	for ((i = cmdi + 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -* ]]; then
			_aiojobctl_takes_value "$w" && ((i++))
			continue
		fi
		kind=$w
		kindi=$i
		break
	done
	if [[ -z $kind ]]; then
		_aiojobctl_value "$prev" "$cur" submit && return
		if [[ $cur == -* ]]; then
			_aiojobctl_words "--queue --priority --delay --timeout
			    --name --key --retries --backoff --after --lock
			    --shield --wait --file --group --durable-wait --help" "$cur"
		else
			_aiojobctl_words "sleep exec cpu http" "$cur"
		fi
		return
	fi
	case $kind in
	exec)
		_aiojobctl_submit_exec ;;
	cpu)
		_aiojobctl_value "$prev" "$cur" submit && return
		if ((cword == kindi + 1)); then
			_aiojobctl_words "sha256 primes spin" "$cur"
		else
			_aiojobctl_words "--input" "$cur"
		fi ;;
	http)
		_aiojobctl_value "$prev" "$cur" submit && return
		[[ $cur == -* ]] && _aiojobctl_words "--method --header --data
		    --data-file --max-body --follow --no-fail-on-status" "$cur"
		;;
	esac
}

# submit exec [exec options] [--] COMMAND [ARG...]
_aiojobctl_submit_exec()
{
	local i w

	for ((i = kindi + 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -- ]]; then
			((i++))
			break
		elif [[ $w == -* ]]; then
			_aiojobctl_takes_value "$w" && ((i++))
		else
			break
		fi
	done
	if ((i < cword)); then
		_aiojobctl_files -f "$cur"	# the command's arguments
	elif [[ ${words[i - 1]} != -- ]] &&
	    _aiojobctl_value "$prev" "$cur" submit; then
		return
	elif [[ $cur == -* && ${words[i - 1]} != -- ]]; then
		_aiojobctl_words "--env --clear-env --cwd --stdin-file
		    --max-output --" "$cur"
	else
		COMPREPLY=($(compgen -c -- "$cur"))
	fi
}

_aiojobctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev='' words cword i w
	local cmd='' cmdi=''

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	# "--opt=value": complete the value of --opt.
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	_aiojobctl_reassemble

	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if _aiojobctl_takes_value "$w"; then
			((i++))
		elif [[ $w != -* ]]; then
			cmd=$w
			cmdi=$i
			break
		fi
	done

	if [[ -z $cmd ]]; then
		_aiojobctl_value "$prev" "$cur" && return
		if [[ $cur == -* ]]; then
			_aiojobctl_words "--url --events-url --token-file --token
			    --tls-ca-file --tls-server-name --tls-cert-file
			    --tls-key-file --json --help --version" "$cur"
		else
			_aiojobctl_words "$_aiojobctl_cmds" "$cur"
		fi
		return
	fi

	if [[ $cmd == submit ]]; then
		_aiojobctl_submit
		return
	fi
	_aiojobctl_value "$prev" "$cur" "$cmd" && return
	case $cmd in
	logs)
		_aiojobctl_words "--stdout --stderr --help" "$cur" ;;
	list)
		_aiojobctl_words "--state --queue --owner --limit --before --help" \
		    "$cur" ;;
	wait)
		_aiojobctl_words "--any --first-exception --timeout --help" \
		    "$cur" ;;
	clean)
		_aiojobctl_words "--older-than --state --help" "$cur" ;;
	shutdown)
		_aiojobctl_words "--timeout --help" "$cur" ;;
	reload)
		_aiojobctl_words "--help" "$cur" ;;
	queue)
		if ((cword == cmdi + 2)); then
			_aiojobctl_words "pause resume limit rate" "$cur"
		elif [[ $cur == -* ]]; then
			_aiojobctl_words "--help" "$cur"
		fi ;;
	watch)
		_aiojobctl_words "job. job.queued job.running job.succeeded
		    job.failed job.cancelled --help" "$cur" ;;
	ping|status|cancel|stats)
		_aiojobctl_words "--help" "$cur" ;;
	esac
}

complete -F _aiojobctl aiojobctl
