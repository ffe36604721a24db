%% @doc A small JSON encoder and decoder (OTP 25 has no json module).
%% Objects are maps with binary keys, arrays lists, strings binaries,
%% null/true/false atoms.
-module(erlsvc_json).

-export([encode/1, decode/1]).

-type json() :: map() | list() | binary() | number() | true | false | null.
-export_type([json/0]).

%% @doc Encodes a term as JSON; object keys are sorted.
-spec encode(json()) -> binary().
encode(T) -> iolist_to_binary(enc(T)).

enc(null) -> <<"null">>;
enc(true) -> <<"true">>;
enc(false) -> <<"false">>;
enc(N) when is_integer(N) -> integer_to_binary(N);
enc(F) when is_float(F) -> float_to_binary(F, [short]);
enc(B) when is_binary(B) -> enc_string(B);
enc(A) when is_atom(A) -> enc_string(atom_to_binary(A));
enc(M) when is_map(M) ->
    Pairs = [[enc_string(key(K)), $:, enc(V)] || {K, V} <- lists:sort(maps:to_list(M))],
    [${, lists:join($,, Pairs), $}];
enc(L) when is_list(L) ->
    [$[, lists:join($,, [enc(V) || V <- L]), $]].

key(K) when is_binary(K) -> K;
key(K) when is_atom(K) -> atom_to_binary(K).

enc_string(B) -> [$", esc(B, <<>>), $"].

esc(<<>>, Acc) -> Acc;
esc(<<$", R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\\"">>);
esc(<<$\\, R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\\\">>);
esc(<<$\n, R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\n">>);
esc(<<$\r, R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\r">>);
esc(<<$\t, R/binary>>, Acc) -> esc(R, <<Acc/binary, "\\t">>);
esc(<<C, R/binary>>, Acc) when C < 16#20 ->
    Hex = iolist_to_binary(io_lib:format("\\u~4.16.0b", [C])),
    esc(R, <<Acc/binary, Hex/binary>>);
esc(<<C, R/binary>>, Acc) -> esc(R, <<Acc/binary, C>>).

%% @doc Decodes one JSON document (surrounding whitespace allowed).
-spec decode(binary()) -> {ok, json()} | {error, term()}.
decode(Bin) when is_binary(Bin) ->
    try value(ws(Bin)) of
        {V, Rest} ->
            case ws(Rest) of
                <<>> -> {ok, V};
                _ -> {error, trailing_data}
            end
    catch
        throw:{json, Why} -> {error, Why};
        error:_ -> {error, invalid}
    end.

ws(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> ws(R);
ws(B) -> B.

value(<<${, R/binary>>) -> object(ws(R), #{});
value(<<$[, R/binary>>) -> array(ws(R), []);
value(<<$", R/binary>>) -> string(R, <<>>);
value(<<"true", R/binary>>) -> {true, R};
value(<<"false", R/binary>>) -> {false, R};
value(<<"null", R/binary>>) -> {null, R};
value(<<C, _/binary>> = B) when C =:= $-; C >= $0, C =< $9 -> number(B);
value(_) -> throw({json, unexpected}).

object(<<$}, R/binary>>, Acc) when map_size(Acc) =:= 0 -> {Acc, R};
object(<<$", R/binary>>, Acc) ->
    {K, R1} = string(R, <<>>),
    case ws(R1) of
        <<$:, R2/binary>> ->
            {V, R3} = value(ws(R2)),
            case ws(R3) of
                <<$,, R4/binary>> -> object(ws(R4), Acc#{K => V});
                <<$}, R4/binary>> -> {Acc#{K => V}, R4};
                _ -> throw({json, expected_comma_or_brace})
            end;
        _ -> throw({json, expected_colon})
    end;
object(_, _) -> throw({json, expected_key}).

array(<<$], R/binary>>, []) -> {[], R};
array(B, Acc) ->
    {V, R} = value(B),
    case ws(R) of
        <<$,, R1/binary>> -> array(ws(R1), [V | Acc]);
        <<$], R1/binary>> -> {lists:reverse([V | Acc]), R1};
        _ -> throw({json, expected_comma_or_bracket})
    end.

string(<<$", R/binary>>, Acc) -> {Acc, R};
string(<<$\\, C, R/binary>>, Acc) ->
    case C of
        $" -> string(R, <<Acc/binary, $">>);
        $\\ -> string(R, <<Acc/binary, $\\>>);
        $/ -> string(R, <<Acc/binary, $/>>);
        $b -> string(R, <<Acc/binary, $\b>>);
        $f -> string(R, <<Acc/binary, $\f>>);
        $n -> string(R, <<Acc/binary, $\n>>);
        $r -> string(R, <<Acc/binary, $\r>>);
        $t -> string(R, <<Acc/binary, $\t>>);
        $u ->
            <<Hex:4/binary, R1/binary>> = R,
            Code = binary_to_integer(Hex, 16),
            string(R1, <<Acc/binary, (unicode:characters_to_binary([Code]))/binary>>);
        _ -> throw({json, bad_escape})
    end;
string(<<C, R/binary>>, Acc) when C >= 16#20 -> string(R, <<Acc/binary, C>>);
string(_, _) -> throw({json, unterminated_string}).

number(B) ->
    {Text, Rest} = take_number(B, <<>>),
    V = case binary:match(Text, [<<".">>, <<"e">>, <<"E">>]) of
            nomatch -> binary_to_integer(Text);
            _ -> to_float(Text)
        end,
    {V, Rest}.

to_float(T) ->
    %% Erlang wants digits on both sides of the point: 1e5 -> 1.0e5.
    T1 = case binary:match(T, <<".">>) of
             nomatch -> re:replace(T, "[eE]", ".0e", [{return, binary}]);
             _ -> T
         end,
    binary_to_float(T1).

take_number(<<C, R/binary>>, Acc) when C >= $0, C =< $9; C =:= $-; C =:= $+;
                                       C =:= $.; C =:= $e; C =:= $E ->
    take_number(R, <<Acc/binary, C>>);
take_number(R, Acc) -> {Acc, R}.
