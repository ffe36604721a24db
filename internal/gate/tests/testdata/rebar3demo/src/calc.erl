-module(calc).
-export([add/2, sub/2, safe_div/2, sign/1]).

add(A, B) ->
    A + B.

sub(A, B) ->
    A - B.

safe_div(_, 0) ->
    {error, div_by_zero};
safe_div(A, B) ->
    {ok, A / B}.

sign(N) when N > 0 ->
    positive;
sign(N) when N < 0 ->
    negative;
sign(_) ->
    zero.
