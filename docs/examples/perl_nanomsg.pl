#!/usr/bin/perl
# The protocol from Perl with NanoMsg::Raw (Debian package
# libnanomsg-raw-perl) and JSON::PP: submit a job with an idempotency
# key, then wait for it, asking again while the daemon's max_hold ends
# the wait with the job still pending.
use strict;
use warnings;
use JSON::PP;
use NanoMsg::Raw;

my $uid = $<;
my $rundir = $ENV{AIOJOBS_RUNDIR}
    || ($uid == 0 ? "/run/aiojobsd"
        : $ENV{XDG_RUNTIME_DIR} ? "$ENV{XDG_RUNTIME_DIR}/aiojobsd"
        : "/tmp/aiojobsd-$uid");
my $url = $ENV{AIOJOBS_URL} || "ipc://$rundir/aiojobsd.sock";

my $sock = nn_socket(AF_SP, NN_REQ) // die "nn_socket: $!";
nn_setsockopt($sock, NN_SOL_SOCKET, NN_RCVTIMEO, 35000);
nn_setsockopt($sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, -1);   # replies of any size
nn_setsockopt($sock, NN_REQ, NN_REQ_RESEND_IVL, 2**31 - 1);
nn_connect($sock, $url) // die "nn_connect $url: $!";
my $json = JSON::PP->new->canonical;

sub request {
    my ($msg) = @_;
    my $token = $ENV{AIOJOBS_TOKEN};
    $msg->{token} = $token if defined $token && length $token;
    defined nn_send($sock, $json->encode($msg)) or die "nn_send: $!";
    defined nn_recv($sock, my $buf) or die "nn_recv: $!";
    my $reply = $json->decode("$buf");   # a message object: its bytes
    die "$reply->{error}{code}: $reply->{error}{message}\n" unless $reply->{ok};
    return $reply;
}

open(my $u, '<', '/proc/sys/kernel/random/uuid') or die "uuid: $!";
chomp(my $key = <$u>);
my $id = request({op => 'submit', job => {kind => 'exec',
    args => {argv => ['uname', '-a']}, key => $key}})->{id};
print "job $id\n";
my $r;
do {
    $r = request({op => 'wait', ids => [$id], timeout_ms => 30000});
} while (@{$r->{pending}});
my $view = $r->{done}[0];
print "$view->{state}: ", $view->{result}{stdout} // '', "\n";
